import { shortName, type Device } from '../control/device.js';

// One way to match a device by the name a person writes, for every place that takes one: TARGET_DEVICES,
// EXCLUDE_DEVICES, the expected-devices file and /probe. Three matchers used to disagree (case, a trailing
// dot, the OS host name); a device named one way in the config must be the same device in a probe.

type NamedDevice = Pick<Device, 'name' | 'hostname'>;

/** A name as DNS compares it: case-insensitive, and `gw-1.tail1234.ts.net.` (rooted FQDN) is `gw-1.tail1234.ts.net`. */
const canonical = (name: string): string => name.trim().replace(/\.$/, '').toLowerCase();

/** `*` matches any run of characters, everything else literally; case-insensitive, a final dot ignored. */
export function globToRegExp(glob: string): RegExp {
  const body = canonical(glob)
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

/**
 * Whether `pattern` names the device by its MagicDNS name, that name's first label or its OS host name. With
 * `glob`, `*` is a wildcard (configuration); without, the name is taken literally (a /probe target).
 */
export function deviceNameMatcher(
  pattern: string,
  options: { glob: boolean } = { glob: true },
): (d: NamedDevice) => boolean {
  if (options.glob) {
    const re = globToRegExp(pattern);
    return (d) => re.test(shortName(d)) || re.test(canonical(d.name)) || re.test(d.hostname);
  }
  const wanted = canonical(pattern);
  // An empty name never matches, not even a device without a host name.
  return (d) =>
    wanted !== '' &&
    (canonical(shortName(d)) === wanted || canonical(d.name) === wanted || canonical(d.hostname) === wanted);
}
