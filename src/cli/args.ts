import { parseArgs, type ParseArgsConfig } from 'node:util';
import { availableParallelism } from 'node:os';
import { usageError } from '../errors.js';
import { suggestOption } from './suggest.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options that take every following non-option argument (`--references a.fa b.fa`). */
const LIST_OPTIONS = new Set(['--references']);

function expandLists(argv: string[]): string[] {
  const out: string[] = [];
  let list: string | undefined;
  for (const a of argv) {
    if (a.startsWith('-')) list = LIST_OPTIONS.has(a) ? a : undefined;
    else if (list && out[out.length - 1] !== list) out.push(list);
    out.push(a);
  }
  return out;
}

/** Strict option parsing: unknown options and missing values are usage errors naming the option. */
export function parseCommand<T extends Options>(
  command: string,
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>> {
  try {
    return parseArgs({ args: expandLists(argv), options, strict: true, allowPositionals: false });
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    const unknown = (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(-[^']*)'/.exec(msg)?.[1] : undefined;
    const hint = unknown !== undefined ? suggestOption(unknown, Object.keys(options)) : undefined;
    throw usageError(`${command}: ${msg}${hint ? `: ${hint}` : ''} (see 'metavec ${command} --help')`);
  }
}

export function intOption(command: string, name: string, v: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`${command}: --${name} must be an integer in [${min}, ${max}], got '${v}'`);
  return n;
}

export function floatOption(command: string, name: string, v: string | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw usageError(`${command}: --${name} must be a number in [${min}, ${max}], got '${v}'`);
  return n;
}

export function choiceOption<T extends string>(command: string, name: string, v: string | undefined, def: T, choices: readonly T[]): T {
  if (v === undefined) return def;
  if (!(choices as readonly string[]).includes(v)) throw usageError(`${command}: --${name} must be one of ${choices.join(', ')}, got '${v}'`);
  return v as T;
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/** Parses sizes like 64M, 1G, 512k (bytes). */
export function sizeOption(command: string, name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)i?[bB]?$/.exec(v);
  if (!m) throw usageError(`${command}: --${name} must be a size like 64M or 1G, got '${v}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()] ?? 1;
  return Math.floor(Number(m[1]) * mult);
}
