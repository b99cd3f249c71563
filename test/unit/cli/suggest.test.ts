import { test } from 'node:test';
import assert from 'node:assert/strict';
import { editDistance, suggestOption } from '../../../src/cli/suggest.js';

test('option suggestions: fastp names, underscores, small typos, nothing for distant names', () => {
  const known = ['input', 'input2', 'output', 'threads', 'cut-mean-quality', 'min-length', 'normalise', 'k-max', 'k'];
  assert.equal(suggestOption('--in1', known), 'did you mean --input?');
  assert.equal(suggestOption('--in2', known), 'did you mean --input2?');
  assert.equal(suggestOption('--cut_mean_quality', known), 'did you mean --cut-mean-quality?');
  assert.equal(suggestOption('-M', known), 'did you mean --cut-mean-quality?');
  assert.equal(suggestOption('--normalize', known), 'did you mean --normalise?');
  assert.equal(suggestOption('--treads', known), 'did you mean --threads?');
  assert.equal(suggestOption('--thread', known), 'did you mean --threads?');
  assert.equal(suggestOption('--length_required', known), 'did you mean --min-length?');
  assert.equal(suggestOption('-l', known), 'did you mean --min-length?');
  assert.equal(suggestOption('--min_length', known), 'did you mean --min-length?');
  assert.equal(suggestOption('--cut_mean_quality=20', known), 'did you mean --cut-mean-quality?');
  assert.match(suggestOption('--dedup', known) ?? '', /on by default \(--no-dedup/);
  // fastp's -c / --correction: metavec's correction is off by default (issue 20), so the hint names --correct
  assert.match(suggestOption('--correction', known) ?? '', /off by default: --correct turns it on/);
  assert.match(suggestOption('-c', known) ?? '', /off by default: --correct turns it on/);
  assert.match(suggestOption('--out2', known) ?? '', /one output directory/);
  assert.equal(suggestOption('--kmax', known), 'did you mean --k-max?');
  assert.match(suggestOption('-O', known) ?? '', /one output directory/);
  assert.equal(suggestOption('--frobnicate', known), undefined);
  assert.equal(suggestOption('--z', known), undefined);
  // an alias whose target the command lacks is not suggested
  assert.equal(suggestOption('--in1', ['labels', 'truth']), undefined);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});
