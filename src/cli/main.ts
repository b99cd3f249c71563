#!/usr/bin/env node
import { exitCodeFor, MetavecError } from '../errors.js';
import { runPrep } from '../pipeline/phase1.js';
import { createProgress } from '../pipeline/progress.js';
import { TOOL_VERSION } from '../version.js';
import { parseCommand } from './args.js';
import { PREP_HELP, PREP_OPTIONS, prepOptionsFrom } from './prep.js';

const USAGE = `metavec ${TOOL_VERSION}: cluster metagenomic reads by organism

usage: metavec <command> [options]

commands
  prep     Phase 1: QC, dedup, embedding -> Parquet shards + manifest
  cluster  Phase 2: k-means on the shards -> labels.parquet, clusters.nc, summary.json
  run      prep + cluster (+ eval with --truth) in one command
  eval     compare labels with a truth table (ARI, NMI, purity, completeness, F1)

'metavec <command> --help' shows the options of a command.
`;

async function prep(argv: string[]): Promise<number> {
  const { values } = parseCommand('prep', argv, PREP_OPTIONS);
  if (values.help) {
    process.stdout.write(PREP_HELP);
    return 0;
  }
  const progress = createProgress({ quiet: values.quiet ?? false });
  const opts = prepOptionsFrom('prep', values, progress);
  const summary = await runPrep(opts);
  if (values.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else
    progress.log(
      `prep: ${summary.fragmentsIn} fragments in, ${summary.fragmentsOut} out (${summary.counts.filtered_total} filtered, ${summary.duplicates} duplicates) in ${summary.seconds.toFixed(1)} s -> ${summary.manifest}`,
    );
  return 0;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { prep };

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(`${TOOL_VERSION}\n`);
    return 0;
  }
  const fn = COMMANDS[cmd];
  if (!fn) {
    process.stderr.write(`metavec: unknown command '${cmd}'\n\n${USAGE}`);
    return 2;
  }
  return fn(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof MetavecError) process.stderr.write(`metavec: error: ${err.message}\n`);
    else process.stderr.write(`metavec: internal error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = exitCodeFor(err);
  },
);
