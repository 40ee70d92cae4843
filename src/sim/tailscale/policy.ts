// The tailnet policy file as `GET /tailnet/{t}/acl` serves it: HuJSON text (comments, trailing commas)
// by default, plain JSON when the client sends `Accept: application/json`, with an ETag either way.
// Field names follow tailscale-client-go-v2 policyfile.go (`grants`, `acls`, `groups`, `tagOwners`, ...).
import { createHash } from 'node:crypto';

type PolicyValue = null | boolean | number | string | PolicyValue[] | { [key: string]: PolicyValue };
export type PolicyObject = { [key: string]: PolicyValue };

export interface PolicyDocument {
  /** The JSON form: what `Accept: application/json` returns. */
  readonly json: PolicyObject;
  /** The HuJSON text: what any other Accept returns. */
  readonly hujson: string;
  /** Quoted, like the real header: `"1a2b3c4d5e6f7a8b"`. Changes whenever the text changes. */
  readonly etag: string;
}

/** Builds the document from an object (rendered as commented HuJSON) or from HuJSON text as given. */
export function policyDocument(source: PolicyObject | string): PolicyDocument {
  const hujson = typeof source === 'string' ? source : renderHuJson(source);
  const parsed: unknown = JSON.parse(standardizeHuJson(hujson));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TypeError('a policy file must be a JSON object');
  }
  const etag = `"${createHash('sha256').update(hujson).digest('hex').slice(0, 16)}"`;
  return { json: parsed as PolicyObject, hujson, etag };
}

/** The demo tailnet's policy: grants and legacy ACLs side by side, as many real tailnets have. */
export function demoPolicy(): PolicyObject {
  return {
    groups: {
      'group:admins': ['admin@example.com', 'alice@example.com'],
      'group:ops': ['ops@example.com', 'carol@example.com'],
      'group:staff': ['bob@example.com', 'carol@example.com', 'erin@example.com'],
    },
    tagOwners: {
      'tag:exporter': ['group:ops'],
      'tag:monitoring': ['group:ops'],
      'tag:gateway': ['group:ops'],
      'tag:exit-node': ['group:ops'],
      'tag:server': ['group:ops'],
      'tag:ci': ['group:ops', 'tag:ci'],
      'tag:k8s': ['group:ops'],
      'tag:storage': ['group:admins'],
      'tag:kiosk': ['group:admins'],
      'tag:web': ['group:ops'],
      'tag:db': ['group:ops'],
    },
    hosts: {
      'office-lan': '10.20.0.0/16',
      'aws-vpc': '172.16.0.0/20',
    },
    grants: [
      { src: ['tag:monitoring'], dst: ['tag:exporter'], ip: ['tcp:5252'] },
      { src: ['group:admins'], dst: ['*'], ip: ['*'] },
      { src: ['group:ops'], dst: ['tag:server', 'tag:gateway', 'tag:db'], ip: ['tcp:22', 'tcp:443', 'tcp:5432'] },
      { src: ['autogroup:member'], dst: ['autogroup:internet'], ip: ['*'] },
      { src: ['group:staff'], dst: ['svc:grafana', 'svc:wiki'], ip: ['tcp:443'] },
    ],
    acls: [
      { action: 'accept', src: ['group:staff'], dst: ['office-lan:*'] },
      { action: 'accept', src: ['tag:ci'], dst: ['aws-vpc:443', 'tag:server:22'] },
    ],
    autoApprovers: {
      routes: { '10.20.0.0/16': ['tag:gateway'], '172.16.0.0/20': ['tag:gateway'] },
      exitNode: ['tag:exit-node'],
    },
    ssh: [
      {
        action: 'check',
        src: ['group:admins'],
        dst: ['tag:server'],
        users: ['root', 'autogroup:nonroot'],
        checkPeriod: '12h',
      },
      { action: 'accept', src: ['autogroup:member'], dst: ['autogroup:self'], users: ['autogroup:nonroot'] },
    ],
    nodeAttrs: [{ target: ['tag:kiosk'], attr: ['disable-web-client'] }],
    postures: { 'posture:latest': ["node:tsVersion >= '1.80'"] },
    tests: [
      { src: 'tag:monitoring', accept: ['tag:exporter:5252'], deny: ['tag:server:22'] },
      { src: 'bob@example.com', accept: ['office-lan:80'], deny: ['tag:db:5432'] },
    ],
  };
}

/** What a new tailnet starts with (allow all), plus the exporter grant. */
export function defaultPolicy(): PolicyObject {
  return {
    grants: [
      { src: ['*'], dst: ['*'], ip: ['*'] },
      { src: ['tag:monitoring'], dst: ['tag:exporter'], ip: ['tcp:5252'] },
    ],
    ssh: [
      { action: 'check', src: ['autogroup:member'], dst: ['autogroup:self'], users: ['autogroup:nonroot', 'root'] },
    ],
    tagOwners: { 'tag:exporter': ['autogroup:admin'], 'tag:monitoring': ['autogroup:admin'] },
  };
}

const SECTION_COMMENTS: Readonly<Record<string, string>> = {
  groups: 'Groups of users.',
  tagOwners: 'Who may apply each tag.',
  hosts: 'Names for IP addresses and ranges.',
  grants: 'Access rules (grants).',
  acls: 'Legacy access rules.',
  autoApprovers: 'Routes and exit nodes approved without an admin.',
  ssh: 'Tailscale SSH rules.',
  nodeAttrs: 'Node attributes.',
  postures: 'Device posture conditions.',
  tests: 'Tests run against every policy change.',
};

/** HuJSON the way the admin console writes it: tab indents, comments, trailing commas. */
function renderHuJson(policy: PolicyObject): string {
  const lines = ['// Tailnet policy file for example.com (simulated by tsmetrics).', '{'];
  for (const [key, value] of Object.entries(policy)) {
    const comment = SECTION_COMMENTS[key];
    if (comment !== undefined) lines.push(`\t// ${comment}`);
    lines.push(`\t${JSON.stringify(key)}: ${renderValue(value, 1)},`);
  }
  lines.push('}', '');
  return lines.join('\n');
}

function renderValue(value: PolicyValue, depth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = '\t'.repeat(depth + 1);
  const outer = '\t'.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object'))
      return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    return `[\n${value.map((v) => `${inner}${renderValue(v, depth + 1)},\n`).join('')}${outer}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${renderValue(v, depth + 1)},\n`).join('')}${outer}}`;
}

/**
 * HuJSON to standard JSON: drops `//` and `/* *\/` comments and commas that precede `}` or `]`,
 * leaving string contents alone. Enough for the policy files this simulator serves and accepts.
 */
export function standardizeHuJson(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 2;
    } else {
      out += c;
      i++;
    }
  }
  return dropTrailingCommas(out);
}

/** Index just past the string literal that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return Math.min(i + 1, text.length);
}

function dropTrailingCommas(json: string): string {
  let out = '';
  let i = 0;
  while (i < json.length) {
    const c = json[i] ?? '';
    if (c === '"') {
      const end = stringEnd(json, i);
      out += json.slice(i, end);
      i = end;
      continue;
    }
    if (c === ',') {
      let j = i + 1;
      while (j < json.length && /\s/.test(json[j] ?? '')) j++;
      if (json[j] === '}' || json[j] === ']') {
        i++;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}
