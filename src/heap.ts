import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow past what survived the last full collection, in percent. V8's own choice
 * on a machine with gigabytes free is up to 300%: a 10,000-device refresh with ~100 MB alive then peaks
 * near 400 MB of RSS. 50% keeps that peak about 130 MB lower for a few more (concurrent) collections per
 * cycle, which the benchmark shows cost no measurable cycle time. Like Go's GOGC.
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Applies HEAP_GROWING_PERCENT unless the operator chose it on the node command line
 * (`node --heap-growing-percent=N bin/tsmetrics.js`; Node does not accept it in NODE_OPTIONS).
 */
export function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
