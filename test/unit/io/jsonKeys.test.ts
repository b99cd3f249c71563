import { test } from 'node:test';
import assert from 'node:assert/strict';
import { camelCase, camelKeys, snakeCase, snakeKeys, toJson } from '../../../src/io/jsonKeys.js';

test('snake_case keys: camelCase converted, snake_case and data-like keys kept', () => {
  assert.equal(snakeCase('inversePurity'), 'inverse_purity');
  assert.equal(snakeCase('f1'), 'f1');
  assert.equal(snakeCase('classToCluster'), 'class_to_cluster');
  assert.equal(snakeCase('fragments_in'), 'fragments_in');
  assert.equal(snakeCase('2-4'), '2-4');
  assert.equal(camelCase('inverse_purity'), 'inversePurity');
  assert.equal(camelCase('v_measure'), 'vMeasure');
});

test('snakeKeys converts nested objects and typed arrays; camelKeys reads it back', () => {
  const report = { truthReads: 3, assigned: { vMeasure: 0.5, f1: { classToCluster: Int32Array.from([1, -1]), macro: 1 } }, classNames: ['aB', 'cD'] };
  const out = snakeKeys(report);
  assert.deepEqual(out, { truth_reads: 3, assigned: { v_measure: 0.5, f1: { class_to_cluster: [1, -1], macro: 1 } }, class_names: ['aB', 'cD'] });
  assert.deepEqual(camelKeys(JSON.parse(toJson(report))), { ...report, assigned: { ...report.assigned, f1: { classToCluster: [1, -1], macro: 1 } } });
  // values (class names, strings) are never renamed; old camelCase files read unchanged
  assert.deepEqual(camelKeys({ truthReads: 1 }), { truthReads: 1 });
});
