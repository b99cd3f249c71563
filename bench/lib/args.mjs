// Command-line options of the bench scripts: `--name value` pairs, and `--help` from the script's header.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);

/** The value after `--name` on the command line, or `def` when the option is not given. */
export function opt(name, def) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

/** Whether the flag `--name` (no value) is on the command line. */
export const flag = (name) => args.includes(`--${name}`);

/** With --help or -h: prints the header comment lines 2..`lines` of the script at `scriptUrl`, and exits. */
export function helpFromHeader(scriptUrl, lines = 10) {
  if (!args.includes('--help') && !args.includes('-h')) return;
  console.log(readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').slice(1, lines).join('\n'));
  process.exit(0);
}
