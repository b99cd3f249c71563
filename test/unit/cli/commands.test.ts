import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RUN_HELP, RUN_OPTIONS } from '../../../src/cli/commands.js';

test("every option 'metavec run --help' names is one run accepts", () => {
  const listed = new Set([...RUN_HELP.matchAll(/--([a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]!));
  assert.ok(listed.size > 60, `${listed.size} options listed`);
  const accepted = new Set(Object.keys(RUN_OPTIONS));
  assert.deepEqual([...listed].filter((o) => !accepted.has(o)), []);
  // and the short forms it shows
  const shorts = new Set(Object.values(RUN_OPTIONS).map((o) => o.short).filter((x) => x !== undefined));
  for (const s of ['i', 'I', 'o', 'w', 'h']) assert.ok(shorts.has(s), s);
});
