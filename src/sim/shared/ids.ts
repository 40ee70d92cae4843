// Deterministic identifiers and addresses for simulated devices. Derived from a seed string so a
// scenario produces the same ids on every run (stable golden files, stable dashboards in the demo).
import { createHash } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` lowercase hex characters derived from `seed`. */
export function hexFrom(seed: string, length: number): string {
  let out = '';
  for (let block = 0; out.length < length; block++) {
    out += createHash('sha256').update(`${seed}#${block}`).digest('hex');
  }
  return out.slice(0, length);
}

/** Legacy numeric device id as the API sends it: an 11-digit decimal string such as "92960230385". */
export function numericId(seed: string): string {
  const n = BigInt(`0x${hexFrom(`id:${seed}`, 16)}`);
  return (10_000_000_000n + (n % 89_999_999_999n)).toString();
}

/** Stable node id such as "nK3dX9pQ2wCNTRL". */
export function stableNodeId(seed: string): string {
  return stableId('n', `node:${seed}`);
}

/** `length` characters of `alphabet` derived from `seed`, one per hex pair. */
export function charsFrom(seed: string, length: number, alphabet: string): string {
  const hex = hexFrom(seed, length * 2);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[parseInt(hex.slice(i * 2, i * 2 + 2), 16) % alphabet.length];
  return out;
}

/** A control-plane style id: `prefix` + 10 base62 characters + "CNTRL" (users "u…", keys "k…"). */
export function stableId(prefix: string, seed: string): string {
  return `${prefix}${charsFrom(seed, 10, BASE62)}CNTRL`;
}

/** A `prefix:` + 64 hex key, the shape of machine, node, disco and tailnet-lock keys. */
export function keyFrom(prefix: 'mkey' | 'nodekey' | 'discokey' | 'tlpub', seed: string): string {
  return `${prefix}:${hexFrom(`${prefix}:${seed}`, 64)}`;
}

/**
 * A unique address in 100.64.0.0/10 for the n-th device. Multiplying by an odd constant modulo
 * 2^22 is a bijection, so addresses never collide yet do not look sequential.
 */
export function tailnetIPv4(n: number): string {
  return cgnatIPv4(scrambled(n));
}

/** The matching Tailscale ULA address in fd7a:115c:a1e0::/48. */
export function tailnetIPv6(n: number): string {
  const offset = scrambled(n);
  return `fd7a:115c:a1e0::${(offset >>> 16).toString(16)}:${(offset & 0xffff).toString(16)}`;
}

/** The address `offset` places above 100.64.0.0 (Headscale allocates them in order: 100.64.0.1, …). */
export function cgnatIPv4(offset: number): string {
  const value = (100 << 24) + (64 << 16) + offset;
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

function scrambled(n: number): number {
  return (Math.imul(n + 1, 2654435761) >>> 0) % (1 << 22);
}

/**
 * The n-th device loopback address: 127.0.0.2 … 127.0.0.254, 127.0.1.1, … (127.0.0.1 is left to the
 * API; .0 and .255 are skipped so no address looks like a network or broadcast address).
 */
export function loopbackAddress(n: number): string {
  const slot = n + 1;
  const third = Math.floor(slot / 254);
  if (!Number.isInteger(n) || n < 0 || third > 255) throw new RangeError(`no loopback address for device #${n}`);
  return `127.0.${third}.${(slot % 254) + 1}`;
}
