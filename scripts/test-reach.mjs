#!/usr/bin/env node
// Which src/ files the tests reach by importing them: directly (a test file imports it), transitively (through
// the modules a test imports, helpers included), or not at all. Static `import ... from`, `export ... from` and
// literal dynamic `import('...')` count; `import type` does not (it runs no code). Tests that spawn the CLI
// (dist/src/cli/main.js) reach more at run time; `--cli` counts main.ts as imported by such tests.
// Usage: node scripts/test-reach.mjs [--cli] [--list] [--json]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const argv = process.argv.slice(2);
const args = new Set(argv);
// --root DIR: another checkout (e.g. `git archive main src test package.json | tar -x -C DIR`), for before/after counts
const root = argv.includes('--root') ? resolve(argv[argv.indexOf('--root') + 1]) : resolve(dirname(new URL(import.meta.url).pathname), '..');
const packageName = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name;

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(c|m)?ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const importRe = /(?:^|[\s;])(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative imports of a file that run code, resolved to .ts files that exist. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out = [];
  // a test that imports the package by name through a variable (`const name = 'metavec'; await import(name)`)
  if (file.endsWith('.test.ts') && /\bimport\(\w+\)/.test(text) && new RegExp(`['"]${packageName}['"]`).test(text)) out.push(join(root, 'src/index.ts'));
  for (const m of text.matchAll(importRe)) {
    if (m[1]) continue; // import type / export type
    let spec = m[2] ?? m[3];
    if (m[3] && /typeof\s+$/.test(text.slice(Math.max(0, m.index - 8), m.index))) continue;
    // the package by its own name (package.json exports) is src/index.ts
    if (spec === packageName) spec = relative(dirname(file), join(root, 'src/index.js')).replace(/^(?!\.)/, './');
    if (!spec || !spec.startsWith('.')) continue;
    const base = resolve(dirname(file), spec);
    const cands = [base.replace(/\.(c|m)?js$/, '.$1ts'), `${base}.ts`, join(base, 'index.ts')];
    const hit = cands.find((c) => existsSync(c) && statSync(c).isFile());
    if (hit) out.push(hit);
  }
  return out;
}

const srcFiles = walk(join(root, 'src')).sort();
const testFiles = walk(join(root, 'test')).filter((f) => f.endsWith('.test.ts')).sort();
const cliMain = join(root, 'src/cli/main.ts');

const direct = new Set();
const reached = new Set();
for (const t of testFiles) {
  const first = importsOf(t);
  if (args.has('--cli') && /dist\/src\/cli\/main\.js|\bCLI\b|runCli\(|\bcli\(/.test(readFileSync(t, 'utf8'))) first.push(cliMain);
  const stack = [...first];
  for (const f of first) if (f.startsWith(join(root, 'src'))) direct.add(f);
  const seen = new Set();
  while (stack.length > 0) {
    const f = stack.pop();
    if (seen.has(f)) continue;
    seen.add(f);
    if (f.startsWith(join(root, 'src'))) reached.add(f);
    stack.push(...importsOf(f));
  }
}

const rel = (f) => relative(root, f);
const rows = srcFiles.map((f) => ({ file: rel(f), direct: direct.has(f), transitive: reached.has(f) }));
const none = rows.filter((r) => !r.transitive);
const notDirect = rows.filter((r) => !r.direct);
if (args.has('--json')) {
  process.stdout.write(JSON.stringify({ src: rows.length, tests: testFiles.length, direct: rows.length - notDirect.length, transitive: rows.length - none.length, rows }, null, 2) + '\n');
} else {
  console.log(`${rows.length} src files, ${testFiles.length} test files${args.has('--cli') ? ' (CLI-spawning tests count as importing src/cli/main.ts)' : ''}`);
  console.log(`  imported directly by a test:       ${rows.length - notDirect.length}   (not: ${notDirect.length})`);
  console.log(`  reached through a test's imports:  ${rows.length - none.length}   (not: ${none.length})`);
  if (args.has('--list')) {
    console.log('\nreached by no test import:');
    for (const r of none) console.log(`  ${r.file}`);
    console.log('\nreached only transitively (no test imports them directly):');
    for (const r of rows.filter((x) => x.transitive && !x.direct)) console.log(`  ${r.file}`);
  }
}
