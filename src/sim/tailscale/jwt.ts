// OIDC ID tokens for the simulated workload identity federation: minting them for tests and the demo,
// and the checks the fake token exchange applies. Signatures are NOT verified against an issuer's keys
// (the simulator has no issuer to fetch them from): a token must merely be signed, i.e. name a real
// algorithm (not "none") and carry a non-empty signature part. Audience, issuer, subject, expiry and
// not-before are checked as the real exchange does.
import { createHmac, randomBytes } from 'node:crypto';

export interface IdTokenClaims {
  readonly iss: string;
  readonly sub: string;
  /** A string or a list, as OIDC allows. */
  readonly aud: string | readonly string[];
  /** Unix seconds. */
  readonly exp: number;
  readonly iat?: number;
  readonly nbf?: number;
  readonly [claim: string]: unknown;
}

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** An HS256-signed JWT with a throw-away key; `alg: 'none'` gives an unsigned one (which the exchange refuses). */
export function mintIdToken(claims: IdTokenClaims, options: { alg?: 'HS256' | 'none' } = {}): string {
  const alg = options.alg ?? 'HS256';
  const head = `${base64url(JSON.stringify({ alg, typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  if (alg === 'none') return `${head}.`;
  return `${head}.${createHmac('sha256', randomBytes(32)).update(head).digest('base64url')}`;
}

/** What a federated identity requires of a token (the `federated` key's audience, issuer and subject). */
export interface FederatedIdentity {
  readonly audience: string;
  readonly issuer: string;
  /** Exact, or with `*` matching any run of characters (as the admin console allows). */
  readonly subject: string;
}

/** Why a token is refused, for the simulator's own tests; the exchange itself always answers "invalid request". */
export function idTokenProblem(jwt: string, identity: FederatedIdentity, nowSeconds: number): string | null {
  const parts = jwt.split('.');
  if (parts.length !== 3) return 'not a JWT';
  const [head, body, signature] = parts as [string, string, string];
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return 'not a JWT';
  }
  if (!isObject(header) || !isObject(claims)) return 'not a JWT';
  if (typeof header['alg'] !== 'string' || header['alg'].toLowerCase() === 'none' || signature === '')
    return 'unsigned';
  const aud = claims['aud'];
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(identity.audience)) return 'audience';
  if (claims['iss'] !== identity.issuer) return 'issuer';
  if (typeof claims['sub'] !== 'string' || !globMatch(identity.subject, claims['sub'])) return 'subject';
  const exp = claims['exp'];
  if (typeof exp !== 'number' || exp <= nowSeconds) return 'expired';
  const nbf = claims['nbf'];
  if (typeof nbf === 'number' && nbf > nowSeconds) return 'not yet valid';
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(text);
}
