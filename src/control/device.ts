// The exporter's own view of a device, normalized once at the API boundary: timestamps in Unix seconds,
// "no value" as undefined (never epoch 0), optional API fields that were absent kept absent.

export interface DerpLatency {
  readonly region: string;
  readonly latencyMs: number;
  readonly preferred: boolean;
}

export interface ClientConnectivity {
  readonly endpoints: readonly string[];
  readonly latency: readonly DerpLatency[];
  /** Feature name (lower-case: hairpinning, ipv6, pcp, pmp, udp, upnp) -> supported; null/unknown omitted. */
  readonly clientSupports: Readonly<Record<string, boolean>>;
  readonly mappingVariesByDestIP: boolean | undefined;
}

export interface Device {
  /** Legacy numeric ID as a string: the `device_id` label, as in the Go original. */
  readonly id: string;
  readonly nodeId: string;
  /** MagicDNS FQDN without a trailing dot: the `device_name` label, as in the Go original. */
  readonly name: string;
  readonly hostname: string;
  readonly user: string;
  readonly addresses: readonly string[];
  readonly os: string;
  readonly clientVersion: string;
  readonly tags: readonly string[];
  readonly online: boolean;
  readonly authorized: boolean;
  readonly updateAvailable: boolean;
  readonly isExternal: boolean;
  readonly isEphemeral: boolean;
  readonly blocksIncomingConnections: boolean;
  readonly multipleConnections: boolean;
  readonly keyExpiryDisabled: boolean;
  readonly tailnetLockError: string;
  /** Unix seconds; undefined for external devices (the API sends ""). */
  readonly createdSeconds: number | undefined;
  /** Unix seconds; undefined while connected (the API omits it) or if never seen. */
  readonly lastSeenSeconds: number | undefined;
  /** Unix seconds; undefined when key expiry is disabled or the API sends no real time. */
  readonly expiresSeconds: number | undefined;
  /** Undefined when the API did not send them (not requested with fields=all, or routes unknown). */
  readonly advertisedRoutes: readonly string[] | undefined;
  readonly enabledRoutes: readonly string[] | undefined;
  readonly clientConnectivity: ClientConnectivity | undefined;
  /** Undefined when the device did not opt in to posture collection or the field was absent. */
  readonly postureSerialNumbers: readonly string[] | undefined;
  readonly sshEnabled: boolean | undefined;
  /** Headscale only: the routes this node actually serves (subnetRoutes). */
  readonly servingRoutes?: readonly string[] | undefined;
}

export const EXIT_ROUTES: ReadonlySet<string> = new Set(['0.0.0.0/0', '::/0']);

/** Short host name: the first label of the MagicDNS name, falling back to the OS host name. */
export function shortName(device: Pick<Device, 'name' | 'hostname'>): string {
  const first = device.name.split('.')[0];
  return first !== undefined && first !== '' ? first : device.hostname;
}
