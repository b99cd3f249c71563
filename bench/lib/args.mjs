// Command-line options of the bench scripts: `--name value` pairs.

/** The value after `--name` on the command line, or `def` when the option is not given. */
export function opt(name, def) {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
}

