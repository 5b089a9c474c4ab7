// Claims-based security ($cbs put-token): checks a SAS token as the service does (HMAC-SHA256 of the
// URL-encoded resource and expiry, signed with the namespace's key, not expired, for the named audience)
// and remembers, per connection, which entity paths it authorizes. Links to entities need a claim.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AmqpFailure, CONDITION } from './errors';

/** The entity path a token audience names: `sb://host/orders/$management` -> `orders/$management`. */
export function audiencePath(audience: string): string {
  return audience
    .replace(/^(?:amqps?|sb|https?):\/\/[^/]+/i, '')
    .replace(/^\/+|\/+$/g, '')
    .toLowerCase();
}

function fields(token: string): Record<string, string> {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) {
    throw new AmqpFailure(CONDITION.unauthorized, 'InvalidSignature: the token is not a SharedAccessSignature.', 401);
  }
  const out: Record<string, string> = {};
  for (const part of token.slice(prefix.length).split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1));
  }
  return out;
}

/** Validates one put-token; returns the audience path and the token's expiry (ms). Throws a 401 failure. */
export function checkSasToken(token: unknown, audience: unknown, keyName: string, key: string, now = Date.now()): { path: string; expiresAt: number } {
  if (typeof token !== 'string' || typeof audience !== 'string') {
    throw new AmqpFailure(CONDITION.unauthorized, 'put-token needs a string token and a string name (the audience).', 400);
  }
  const { sr, sig, se, skn } = fields(token);
  if (!sr || !sig || !se || !skn) {
    throw new AmqpFailure(CONDITION.unauthorized, 'InvalidSignature: the token needs sr, sig, se and skn.', 401);
  }
  if (skn !== keyName) {
    throw new AmqpFailure(CONDITION.unauthorized, `InvalidSignature: unknown SharedAccessKeyName '${skn}'.`, 401);
  }
  const expected = createHmac('sha256', key).update(`${encodeURIComponent(sr)}\n${se}`).digest();
  const given = Buffer.from(sig, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AmqpFailure(CONDITION.unauthorized, 'InvalidSignature: The token has an invalid signature.', 401);
  }
  const expiresAt = Number(se) * 1000;
  if (!Number.isFinite(expiresAt) || expiresAt <= now) {
    throw new AmqpFailure(CONDITION.unauthorized, `ExpiredToken: The token is expired. Expiration time: '${new Date(expiresAt).toISOString()}'.`, 401);
  }
  const path = audiencePath(sr);
  if (!audiencePath(audience).startsWith(path)) {
    throw new AmqpFailure(CONDITION.unauthorized, `InvalidAudience: the token is for '${sr}', not '${audience}'.`, 401);
  }
  return { path: audiencePath(audience), expiresAt };
}

/** The claims one connection holds. */
export class Claims {
  private readonly paths = new Map<string, number>();

  add(path: string, expiresAt: number): void {
    this.paths.set(path, expiresAt);
  }

  /** Throws amqp:unauthorized-access unless a live token covers `entityPath` (or the whole namespace). */
  require(entityPath: string, now = Date.now()): void {
    const path = entityPath.toLowerCase();
    for (const [claim, until] of this.paths) {
      if (until > now && (claim === '' || path === claim || path.startsWith(`${claim}/`))) return;
    }
    throw new AmqpFailure(CONDITION.unauthorized, `Unauthorized access to '${entityPath}': no $cbs put-token covers it.`, 401);
  }
}
