// The configuration audit log of the simulated tailnet (tailscale-facts §6.1, OpenAPI ConfigurationAuditLog):
// a short history before the start, then an event for each change the simulator sees: the policy file,
// keys created or revoked or deleted, devices added or removed, user roles, the key expiry setting. Changes
// made through the simulator's own methods are recorded at once; changes made by editing its live arrays
// are noticed when the log is next read. Some events become visible only minutes after their eventTime.
import { randomBytes } from 'node:crypto';
import type { SimDevice } from '../shared/device.js';
import { isoTimeMillis, ZERO_TIME } from '../shared/time.js';
import type { SimKey, SimSettings, SimUser } from './directory.js';

export interface SimAuditEvent {
  readonly eventMs: number;
  /** When the API starts returning it. */
  readonly visibleMs: number;
  readonly json: Record<string, unknown>;
}

interface Target {
  readonly type: string;
  readonly id: string;
  readonly name: string;
  readonly property?: string;
  readonly isEphemeral?: boolean;
}

interface Actor {
  readonly type: string;
  readonly id: string;
  readonly loginName?: string;
  readonly displayName?: string;
}

const ADMIN: Actor = { type: 'USER', id: 'uSimAdminCNTRL', loginName: 'admin@example.com', displayName: 'Admin' };
const AUTOMATION: Actor = { type: 'OAUTH_CLIENT', id: 'kSimOAuthCNTRL', displayName: 'gitops' };

/** What the trail last saw, to tell what changed. */
interface Seen {
  policyEtag: string;
  keys: Map<string, { revoked: boolean; type: string }>;
  devices: Map<string, { name: string; ephemeral: boolean }>;
  roles: Map<string, string>;
  keyDurationDays: number;
}

export interface AuditSources {
  readonly policyEtag: string;
  readonly keys: readonly SimKey[];
  readonly devices: readonly SimDevice[];
  readonly users: readonly SimUser[];
  readonly settings: SimSettings;
}

export class SimAuditLog {
  readonly events: SimAuditEvent[] = [];
  readonly #tailnet: string;
  #seen: Seen | undefined;

  constructor(tailnet: string, startedAt: number, sources: AuditSources) {
    this.#tailnet = tailnet;
    this.#history(startedAt);
    this.#seen = snapshot(sources);
  }

  get tailnet(): string {
    return this.#tailnet;
  }

  /** Records one event; `lateMs` delays when the API returns it. */
  record(
    nowMs: number,
    action: string,
    target: Target,
    o: { origin?: string; actor?: Actor; old?: unknown; new?: unknown; lateMs?: number } = {},
  ): void {
    const json: Record<string, unknown> = {
      eventTime: isoTimeMillis(nowMs),
      type: 'CONFIG',
      deferredAt: ZERO_TIME,
      eventGroupID: randomBytes(16).toString('hex'),
      origin: o.origin ?? 'ADMIN_CONSOLE',
      actor: { ...(o.actor ?? ADMIN) },
      target: { ...target },
      action,
      ...(o.old === undefined ? {} : { old: o.old }),
      ...(o.new === undefined ? {} : { new: o.new }),
    };
    this.events.push({ eventMs: nowMs, visibleMs: nowMs + (o.lateMs ?? 0), json });
  }

  /** Turns whatever changed since the last look into events, stamped `nowMs`. */
  observe(nowMs: number, sources: AuditSources): void {
    const before = this.#seen;
    const after = snapshot(sources);
    this.#seen = after;
    if (before === undefined) return;
    const tailnet = { type: 'TAILNET', id: this.#tailnet, name: this.#tailnet };
    if (before.policyEtag !== after.policyEtag)
      this.record(nowMs, 'UPDATE', { ...tailnet, property: 'ACL' }, { origin: 'CONFIG_API', actor: AUTOMATION });
    if (before.keyDurationDays !== after.keyDurationDays) {
      this.record(
        nowMs,
        'UPDATE',
        { ...tailnet, property: 'MAX_KEY_DURATION' },
        { old: before.keyDurationDays, new: after.keyDurationDays },
      );
    }
    for (const [id, k] of after.keys) {
      const old = before.keys.get(id);
      if (old === undefined) this.record(nowMs, 'CREATE', { type: 'API_KEY', id, name: id });
      else if (!old.revoked && k.revoked) this.record(nowMs, 'REVOKE', { type: 'API_KEY', id, name: id });
    }
    for (const id of before.keys.keys())
      if (!after.keys.has(id)) this.record(nowMs, 'DELETE', { type: 'API_KEY', id, name: id });
    for (const [id, d] of after.devices) {
      if (!before.devices.has(id))
        this.record(
          nowMs,
          'CREATE',
          { type: 'NODE', id, name: d.name, isEphemeral: d.ephemeral },
          { origin: 'NODE', actor: { type: 'NODE', id, displayName: d.name } },
        );
    }
    for (const [id, d] of before.devices)
      if (!after.devices.has(id))
        this.record(nowMs, 'DELETE', { type: 'NODE', id, name: d.name, isEphemeral: d.ephemeral });
    for (const [id, role] of after.roles) {
      const old = before.roles.get(id);
      if (old !== undefined && old !== role)
        this.record(nowMs, 'UPDATE', { type: 'USER', id, name: id, property: 'USER_ROLE' }, { old, new: role });
    }
  }

  /** The events with eventTime in [fromMs, toMs] that the API returns at `nowMs`, in time order. */
  query(fromMs: number, toMs: number, nowMs: number): Array<Record<string, unknown>> {
    return this.events
      .filter((e) => e.eventMs >= fromMs && e.eventMs <= toMs && e.visibleMs <= nowMs)
      .sort((a, b) => a.eventMs - b.eventMs)
      .map((e) => e.json);
  }

  /** A plausible hour of changes before the start, including values the OpenAPI document does not list yet. */
  #history(startedAt: number): void {
    const tailnet = { type: 'TAILNET', id: this.#tailnet, name: this.#tailnet };
    const at = (minutes: number): number => startedAt - minutes * 60_000;
    this.record(at(50), 'UPDATE', { ...tailnet, property: 'ACL' }, { origin: 'CONFIG_API', actor: AUTOMATION });
    this.record(at(45), 'CREATE', { type: 'API_KEY', id: 'kSimHistoryAuthKeyCNTRL', name: 'kSimHistoryAuthKeyCNTRL' });
    this.record(
      at(40),
      'UPDATE',
      { type: 'USER', id: 'uSimHistoryUserCNTRL', name: 'dev@example.com', property: 'USER_ROLE' },
      { old: 'member', new: 'admin' },
    );
    this.record(at(35), 'UPDATE', { ...tailnet, property: 'TKA' });
    this.record(
      at(30),
      'UPDATE',
      {
        type: 'NODE',
        id: 'nSimHistoryNodeCNTRL',
        name: 'build-1.tail1234.ts.net',
        property: 'KEY_EXPIRY',
        isEphemeral: false,
      },
      { old: false, new: true },
    );
    this.record(
      at(25),
      'CREATE',
      { type: 'NODE', id: 'nSimHistoryNodeCNTRL', name: 'build-1.tail1234.ts.net', isEphemeral: false },
      { origin: 'NODE', actor: { type: 'NODE', id: 'nSimHistoryNodeCNTRL' } },
    );
    this.record(at(20), 'UPDATE', { ...tailnet, property: 'MAX_KEY_DURATION' }, { old: 90, new: 180 });
    this.record(
      at(15),
      'LOGIN',
      { type: 'USER', id: 'uSimAdminCNTRL', name: 'admin@example.com' },
      { origin: 'IDENTITY_PROVIDER' },
    );
    // Values newer than the document (facts §6.1: a BORDER0_API origin, PAM_* events).
    this.record(
      at(10),
      'PAM_SESSION_START',
      { type: 'NODE', id: 'nSimHistoryNodeCNTRL', name: 'build-1.tail1234.ts.net' },
      { origin: 'BORDER0_API', actor: { type: 'AUTOMATED_WORKER', id: 'border0' } },
    );
    this.record(at(6), 'UPDATE', { ...tailnet, property: 'ACL' }, { origin: 'ADMIN_CONSOLE', lateMs: 180_000 });
  }
}

function snapshot(s: AuditSources): Seen {
  return {
    policyEtag: s.policyEtag,
    keys: new Map(s.keys.map((k) => [k.id, { revoked: k.revoked !== undefined && k.revoked !== '', type: k.keyType }])),
    devices: new Map(s.devices.map((d) => [d.nodeId, { name: d.name, ephemeral: d.isEphemeral }])),
    roles: new Map(s.users.map((u) => [u.id, u.role])),
    keyDurationDays: s.settings.devicesKeyDurationDays,
  };
}
