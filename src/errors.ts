/**
 * Typed errors. Every module throws MetavecError (or a subclass) with a code; only the CLI entry point
 * turns them into a message on stderr and an exit status.
 */
export type ErrorCode =
  | 'USAGE' // bad or unknown option: exit 2
  | 'INPUT' // malformed or unreadable input data: exit 1
  | 'OUTPUT' // cannot write outputs
  | 'MANIFEST' // missing/corrupt/incompatible manifest or shard
  | 'INTERRUPTED' // Ctrl-C while a cluster job ran (the job was cancelled): exit 130
  | 'INTERNAL';

export class MetavecError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'MetavecError';
  }
}

export function usageError(message: string): MetavecError {
  return new MetavecError('USAGE', message);
}

export function inputError(message: string): MetavecError {
  return new MetavecError('INPUT', message);
}

/** Exit status used by the CLI for an error code. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof MetavecError && err.code === 'USAGE') return 2;
  if (err instanceof MetavecError && err.code === 'INTERRUPTED') return 130;
  return 1;
}
