import { TsnetTagError } from './errors.js';
import type { LocalStatus } from './localapi.js';

// REQUIRE_EXPORTER_TAG: the exporter's node must carry every TSNET_TAGS tag, or `tag:exporter` when there are none.

export interface TagPolicy {
  readonly requireExporterTag: boolean;
  /** TSNET_TAGS, with `tag:`. */
  readonly tags: readonly string[];
  /** TSNET_HOSTNAME: names the node in the error while it has no MagicDNS name. */
  readonly hostname: string;
}

/** Throws TsnetTagError (exit 2) naming the missing tags; nothing when the policy is off or met. */
export function checkTags(status: LocalStatus, policy: TagPolicy): void {
  if (!policy.requireExporterTag) return;
  const required = policy.tags.length > 0 ? [...policy.tags] : ['tag:exporter'];
  const actual = status.Self?.Tags ?? [];
  const missing = required.filter((t) => !actual.includes(t));
  if (missing.length === 0) return;
  throw new TsnetTagError(
    `REQUIRE_EXPORTER_TAG=true: the tsnet node ${status.Self?.DNSName.replace(/\.$/, '') || policy.hostname} carries ` +
      `${actual.length > 0 ? `the tags ${actual.join(',')}` : 'no tags'} but must carry ${required.join(',')} (missing ${missing.join(',')}): ` +
      "use an auth key created with these tags, allow them in the policy's tagOwners, or set REQUIRE_EXPORTER_TAG=false",
    required,
    actual,
  );
}
