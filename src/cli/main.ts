#!/usr/bin/env node
import { exitCodeFor, MetavecError } from '../errors.js';
import { TOOL_VERSION } from '../version.js';
import { CLUSTER_METHODS, DEFAULT_CLUSTER_METHOD } from '../pipeline/phase2.js';
import { clusterCommand, evalCommand, prepCommand, runCommand } from './commands.js';
import { prepCutCommand, prepMergeCommand, prepPlanCommand, prepSliceCommand, prepSpectrumCommand, prepWorkerCommand } from './prepDist.js';
import { queryCommand } from './query.js';
import { reportCommand } from './report.js';

const USAGE = `metavec ${TOOL_VERSION}: cluster metagenomic reads by organism

usage: metavec <command> [options]

commands
  prep     Phase 1: QC, error correction, dedup, embedding -> Parquet shards + manifest
  cluster  Phase 2: cluster the fragments (--method ${CLUSTER_METHODS.join('|')}, default ${DEFAULT_CLUSTER_METHOD}, K auto)
           -> labels.parquet, clusters.nc, summary.json
  run      prep + cluster (+ eval with --truth) in one command
  eval     compare labels with a truth table (ARI, NMI, purity, completeness, F1)
  report   self-contained HTML report of a run (QC, embeddings, clusters, metrics)
  query    SQL over the catalog of runs, their shards and labels (DuckDB)

'metavec help <command>' (or 'metavec <command> --help') shows the options of a command.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  prep: prepCommand,
  cluster: clusterCommand,
  run: runCommand,
  eval: evalCommand,
  report: reportCommand,
  query: queryCommand,
  // internal: the distributed Phase 1 engines (metavec prep-plan --help)
  'prep-plan': prepPlanCommand,
  'prep-cut': prepCutCommand,
  'prep-worker': prepWorkerCommand,
  'prep-slice': prepSliceCommand,
  'prep-spectrum': prepSpectrumCommand,
  'prep-merge': prepMergeCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    if (topic !== undefined) {
      const help = COMMANDS[topic];
      if (!help) {
        process.stderr.write(`metavec: no command '${topic}'\n\n${USAGE}`);
        return 2;
      }
      return help(['--help']);
    }
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
