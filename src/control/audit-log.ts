// The configuration audit log (GET /tailnet/{t}/logging/configuration, tailscale-facts §6.1) turned into
// counts of events by kind and the time of the last event of each kind. Labels are the kind of change and
// who made it by type (never by identity). The enumerations are open: a value the OpenAPI document does not
// list is kept as it is, up to a few per label, then counted as OTHER, so cardinality stays bounded.

const AUDIT_ACTIONS = [
  'LOGIN',
  'LOGOUT',
  'CREATE',
  'UPDATE',
  'DELETE',
  'CANCEL',
  'REVOKE',
  'APPROVE',
  'SUSPEND',
  'RESTORE',
  'ENABLE',
  'DISABLE',
  'ACCEPT',
  'EXPIRED',
  'PUSH_USER',
  'PUSH_GROUP',
  'VERIFY',
  'JOIN_WAITLIST',
  'INVITE',
  'JOIN',
  'LEAVE',
  'RESEND',
  'MIGRATE_AUTH_PROVIDER',
] as const;
const AUDIT_TARGET_TYPES = [
  'TAILNET',
  'USER',
  'GROUP',
  'NODE',
  'API_KEY',
  'INVITE',
  'SHARE',
  'BILLING',
  'ADMIN_CONSOLE',
  'WEB_INTERFACE',
  'WEBHOOK_ENDPOINT',
  'FAILED_REQUEST',
] as const;
const AUDIT_PROPERTIES = [
  'ACL',
  'ACL_TAGS',
  'ACCOUNT_EMAIL',
  'ADDRESS',
  'ALLOWED_IPS',
  'AUTO_APPROVED_ROUTES',
  'ATTRIBUTES',
  'BILLING_OWNER',
  'COLLECT_SERVICES',
  'COLLECT_POSTURE_IDENTITY',
  'MULLVAD_VPN',
  'DNS_CONFIG',
  'EMAIL',
  'EXIT_NODE',
  'FEATURE',
  'FILE_SHARING',
  'HTTPS',
  'KEY_EXPIRY_TIME',
  'KEY_EXPIRY',
  'LOG_EXIT_FLOWS',
  'LOGSTREAM_ENDPOINT',
  'MAGIC_DNS',
  'MACHINE_AUTH_NEEDED',
  'MACHINE_APPROVAL_NEEDED',
  'USER_APPROVAL_REQUIRED',
  'MACHINE_NAME',
  'MAX_KEY_DURATION',
  'NETWORK_FLOW_LOGGING',
  'GEOSTEERING',
  'NODE_SHARE',
  'TAILNET_INVITE',
  'PAYMENT_INFO',
  'POSTURE_IDENTITY',
  'POSTURE_INTEGRATION',
  'USER_ROLE',
  'SCIM',
  'SECURITY_EMAIL',
  'STRIPE_CUSTOMER_ID',
  'SUBSCRIPTION',
  'SUBSCRIBED_EVENTS',
  'SUPPORT_EMAIL',
  'SECRET',
  'TCD',
  'TKA',
  'AUTH_PROVIDER',
] as const;
const AUDIT_ORIGINS = [
  'ADMIN_CONSOLE',
  'CONFIG_API',
  'CONTROL',
  'IDENTITY_PROVIDER',
  'NODE',
  'SUPPORT_REQUEST',
  'STRIPE',
  'SECURITY_NOTIFICATION',
  'LEGAL_NOTIFICATION',
] as const;
const AUDIT_ACTOR_TYPES = [
  'USER',
  'NODE',
  'AUTOMATED_WORKER',
  'OAUTH_CLIENT',
  'SCIM',
  'MULLVAD',
  'LOGSTREAM',
  'SECRET_SCANNER',
] as const;

/** Values outside the document's list kept per label before the rest become OTHER. */
export const MAX_UNLISTED_VALUES = 10;
/** Event series at most; past it new combinations are counted under all-OTHER labels. */
export const MAX_AUDIT_SERIES = 2_000;
/** A label value for "no value" (an event that changed no property): empty label values vanish in Prometheus. */
const NONE = 'NONE';
const OTHER = 'OTHER';

type LabelName = 'action' | 'target_type' | 'target_property' | 'origin' | 'actor_type';

/** One label's values: the listed ones, plus a few unlisted ones as they arrive. */
class OpenEnum {
  readonly #listed: ReadonlySet<string>;
  readonly #unlisted = new Set<string>();
  constructor(listed: readonly string[]) {
    this.#listed = new Set(listed);
  }
  value(v: unknown): string {
    if (v === undefined || v === null || v === '') return NONE;
    if (typeof v !== 'string' || !/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(v)) return OTHER;
    const upper = v.toUpperCase();
    if (this.#listed.has(upper) || this.#unlisted.has(upper)) return upper;
    if (this.#unlisted.size >= MAX_UNLISTED_VALUES) return OTHER;
    this.#unlisted.add(upper);
    return upper;
  }
}

export type AuditEventKind = {
  readonly action: string;
  readonly target_type: string;
  readonly target_property: string;
  readonly origin: string;
  readonly actor_type: string;
};

/** What the audit collector renders. */
export interface AuditView {
  /** Label key (see `kindKey`) -> its labels and count. */
  readonly events: ReadonlyMap<string, { readonly labels: AuditEventKind; count: number }>;
  /** Per action, target type and property: Unix time of the latest event (by `eventTime`). */
  readonly lastEvent: ReadonlyMap<
    string,
    { readonly labels: Omit<AuditEventKind, 'origin' | 'actor_type'>; seconds: number }
  >;
}

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The time an audit record can be filtered by (`eventTime`), in Unix seconds. */
function auditRecordSeconds(raw: unknown): number | undefined {
  const t = obj(raw).eventTime;
  const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN;
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

export class AuditTotals implements AuditView {
  readonly events = new Map<string, { readonly labels: AuditEventKind; count: number }>();
  readonly lastEvent = new Map<
    string,
    { readonly labels: Omit<AuditEventKind, 'origin' | 'actor_type'>; seconds: number }
  >();
  readonly #enums: Record<LabelName, OpenEnum> = {
    action: new OpenEnum(AUDIT_ACTIONS),
    target_type: new OpenEnum(AUDIT_TARGET_TYPES),
    target_property: new OpenEnum(AUDIT_PROPERTIES),
    origin: new OpenEnum(AUDIT_ORIGINS),
    actor_type: new OpenEnum(AUDIT_ACTOR_TYPES),
  };

  /** Adds one event (already known to be new); false when it has no time or no action. */
  add(raw: unknown): boolean {
    const r = obj(raw);
    const seconds = auditRecordSeconds(r);
    if (seconds === undefined || typeof r.action !== 'string') return false;
    const target = obj(r.target);
    let labels: AuditEventKind = {
      action: this.#enums.action.value(r.action),
      target_type: this.#enums.target_type.value(target.type),
      target_property: this.#enums.target_property.value(target.property),
      origin: this.#enums.origin.value(r.origin),
      actor_type: this.#enums.actor_type.value(obj(r.actor).type),
    };
    let key = kindKey(labels);
    if (!this.events.has(key) && this.events.size >= MAX_AUDIT_SERIES) {
      labels = { action: OTHER, target_type: OTHER, target_property: OTHER, origin: OTHER, actor_type: OTHER };
      key = kindKey(labels);
    }
    const entry = this.events.get(key);
    if (entry === undefined) this.events.set(key, { labels, count: 1 });
    else entry.count++;
    const kind = { action: labels.action, target_type: labels.target_type, target_property: labels.target_property };
    const lastKey = `${kind.action}\u0000${kind.target_type}\u0000${kind.target_property}`;
    const last = this.lastEvent.get(lastKey);
    if (last === undefined) this.lastEvent.set(lastKey, { labels: kind, seconds });
    else last.seconds = Math.max(last.seconds, seconds);
    return true;
  }

  /** Pairs are a flow-log notion; the poller calls this on every log kind. */
  finishWindow(): void {}
}

const kindKey = (l: AuditEventKind): string =>
  `${l.action}\u0000${l.target_type}\u0000${l.target_property}\u0000${l.origin}\u0000${l.actor_type}`;
