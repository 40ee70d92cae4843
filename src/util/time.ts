// The one RFC 3339 parser: API timestamps (Tailscale, Headscale's protojson) and Go's time.Time JSON from tailscaled
// (nanoseconds, offsets). Date.parse alone would round nanoseconds away and accept text that is no timestamp at all.

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i;

/** Unix seconds with the fraction; undefined for "", Go's zero time (year 1), times before the epoch and garbage. */
export function rfc3339Seconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = m;
  const ms = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}${zone!.toUpperCase()}`);
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return ms / 1000 + (fraction === undefined ? 0 : Number(`0.${fraction}`));
}
