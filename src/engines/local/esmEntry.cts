/**
 * The CommonJS entry every local worker pool gives piscina (src/engines/local/threadPool.ts). piscina loads its
 * task file with require() first, and on Node >= 20.19 require() of an ES module builds a "require facade".
 * Terminating a worker thread while that facade is being built (a pool destroyed while a thread is still
 * loading, as in a run that ends within a few milliseconds of starting) fails a native assertion in Node
 * (module_wrap.cc CreateRequiredModuleFacade) and aborts the whole process with SIGABRT. Loading this small
 * CommonJS file takes no facade; the ES module with the stage code is loaded by import() inside the first task,
 * which a terminated thread simply abandons.
 */
import { workerData } from 'node:worker_threads';

type Handler = (task: unknown) => unknown;

const moduleUrl = (workerData as { metavecTaskModule?: unknown } | undefined)?.metavecTaskModule;
let handler: Promise<Handler> | undefined;

function run(task: unknown): Promise<unknown> {
  if (typeof moduleUrl !== 'string') return Promise.reject(new Error('worker pool started without workerData.metavecTaskModule'));
  handler ??= import(moduleUrl).then((m: { default?: unknown }) => {
    if (typeof m.default !== 'function') throw new Error(`${moduleUrl}: no default export function`);
    return m.default as Handler;
  });
  return handler.then((h) => h(task));
}

export = run;
