// The only place that escapes text for the exposition format 0.0.4. Hand-written because it runs for
// every label value of every series on each refresh; the fast path returns the input untouched.

const NEEDS_LABEL_ESCAPE = /[\\"\n]/;
const NEEDS_HELP_ESCAPE = /[\\\n]/;

/** Label values: backslash, double quote and line feed are escaped (text format 0.0.4). */
export function escapeLabelValue(value: string): string {
  if (!NEEDS_LABEL_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed are escaped; quotes are legal there. */
export function escapeHelp(text: string): string {
  if (!NEEDS_HELP_ESCAPE.test(text)) return text;
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const isValidMetricName = (name: string): boolean => METRIC_NAME.test(name);
/** Names starting with `__` are reserved for Prometheus itself. */
export const isValidLabelName = (name: string): boolean => LABEL_NAME.test(name) && !name.startsWith('__');

/** Go-compatible float formatting as Prometheus expects it (NaN is already `NaN`). */
export function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Object.is(value, -0)) return '-0';
  return String(value);
}
