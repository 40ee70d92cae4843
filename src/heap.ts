import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow past what survived the last full collection, in percent. V8's own choice
 * on a machine with gigabytes free is up to 300%: a 10,000-device refresh with ~100 MB alive then peaks
 * near 400 MB of RSS. 50% keeps that peak about 130 MB lower for a few more (concurrent) collections per
 * cycle, which the benchmark shows cost no measurable cycle time. Like Go's GOGC.
 */
const HEAP_GROWING_PERCENT = 50;

/**
 * V8 options every launcher puts on the node command line (bin/tsmetrics.js, the npm scripts, the
 * Dockerfile, the systemd unit, the benchmark), because V8 reads them only when the heap is created.
 * A semi-space (half of the young generation) of 4 MB instead of 16 MB: a refresh's garbage is mostly
 * short-lived strings and buffers, which die as young in 4 MB as in 16. At 10,000 devices that measured
 * 25-45 MB less peak RSS for no measurable CPU (README, Performance). NODE_OPTIONS accepts it too.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/**
 * Applies HEAP_GROWING_PERCENT unless the operator chose it on the node command line
 * (`node --heap-growing-percent=N bin/tsmetrics.js`; Node does not accept it in NODE_OPTIONS).
 */
export function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}

/**
 * NODE_FLAGS this process was started without, by option name: the operator may have chosen another
 * value (`--max-semi-space-size=16`), which counts as chosen. V8 accepts `_` for `-` in option names.
 */
export function missingNodeFlags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env['NODE_OPTIONS'] ?? '',
): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map(optionName);
  return NODE_FLAGS.filter((flag) => !given.includes(optionName(flag)));
}

const optionName = (arg: string): string => arg.split('=')[0]!.replaceAll('_', '-');
