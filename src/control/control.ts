import type { Device } from './device.js';
import type { InventoryData } from './inventory.js';

// What the refresher, the inventory and the log pollers need from a control plane, in their own terms: devices,
// inventory resources and log windows as typed data. Each backend (backends.ts) implements these; the paths, the
// REST dialect and the HTTP client stay behind them. A resource a backend lacks is absent from its readers: "not
// supported by this backend", never a fake empty answer.

export interface DeviceList {
  readonly devices: readonly Device[];
  /** Entries dropped because they lacked an id or a name. */
  readonly invalidDevices: number;
}

export interface DeviceSource {
  /** Every device of the tailnet; throws ApiError when the list cannot be had. */
  listDevices(signal?: AbortSignal): Promise<DeviceList>;
}

export type Resource = keyof InventoryData;

/** Reads one resource; `previous` is its last good data (log stream counters are compared with it). */
type ResourceReader<K extends Resource> = (
  signal: AbortSignal | undefined,
  nowSeconds: number,
  previous: InventoryData[K]['data'],
) => Promise<NonNullable<InventoryData[K]['data']>>;

/** The inventory resources a backend serves. */
export type ResourceReaders = { readonly [K in Resource]?: ResourceReader<K> };

export type LogKind = 'flowlogs' | 'audit';

export interface LogSource {
  /** The records of one window [startMs, endMs]: each record's bytes go to `onRecord` as they arrive. */
  streamLogs(
    kind: LogKind,
    window: { readonly startMs: number; readonly endMs: number },
    onRecord: (bytes: Buffer) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}

/** One backend's control plane, as app.ts wires it. */
export interface ControlPlane extends DeviceSource {
  readonly resources: ResourceReaders;
  /** Flow and audit logs; undefined when the backend has none. */
  readonly logs: LogSource | undefined;
  close(): Promise<void>;
}
