import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { UnauthorizedError, type Clock } from '@wf/shared';
import jwt from 'jsonwebtoken';
import type { AccessTokens, IssuedToken, SessionTokens } from '../app/ports.js';

export interface JwtOptions {
  secret: string;
  expiresInSeconds: number;
}

const seconds = (clock: Clock) => Math.floor(clock.now().getTime() / 1000);

type VerifiedPayload = jwt.JwtPayload & { sub: string; exp: number };

/** Most tokens remembered as verified; past it the oldest is forgotten (and verified again if it comes back). */
export const MAX_VERIFIED_TOKENS = 10_000;

/**
 * Tokens that verified, by their exact text, each good for as long as its claims say (`nbf`
 * to `exp`, the checks `jwt.verify` makes against the clock): a client sends the same token
 * with every request, and its signature and claims cannot have changed since. Only verified
 * tokens get in, so a stream of forged ones cannot flush it; what a token stands for beyond
 * that (the user still exists, the session is not revoked) is checked by the callers on
 * every request, as before.
 */
class VerifiedTokens {
  private readonly byToken = new Map<string, VerifiedPayload>();

  get(token: string, nowSeconds: number): VerifiedPayload | undefined {
    const payload = this.byToken.get(token);
    if (payload === undefined) return undefined;
    if (nowSeconds < payload.exp && (payload.nbf === undefined || payload.nbf <= nowSeconds)) return payload;
    this.byToken.delete(token);
    return undefined;
  }

  remember(token: string, payload: VerifiedPayload): void {
    if (this.byToken.size >= MAX_VERIFIED_TOKENS) this.byToken.delete(this.byToken.keys().next().value as string);
    this.byToken.set(token, Object.freeze(payload));
  }
}

/**
 * HS256 tokens whose subject is the userId. Verification pins the algorithm (so `alg: none`
 * or an RS/HS confusion is refused), requires `sub` and `exp`, and reads time from the
 * injected clock. Every failure is the same 401: a client learns nothing from it.
 *
 * The key is a KeyObject made once: given a string, jsonwebtoken first tries to parse it as
 * a public key on every call, which was the largest single cost of a request. A token that
 * verified is remembered until it expires (`VerifiedTokens`): the signature and the claims
 * are checked once per token, not once per request.
 */
class Hs256Tokens {
  private readonly verified = new VerifiedTokens();

  constructor(
    private readonly key: KeyObject,
    private readonly expiresInSeconds: number,
    private readonly clock: Clock,
  ) {}

  issue(userId: string, claims: Record<string, number> = {}): IssuedToken {
    const token = jwt.sign({ ...claims, iat: seconds(this.clock) }, this.key, {
      algorithm: 'HS256',
      subject: userId,
      expiresIn: this.expiresInSeconds,
    });
    return { token, expiresIn: this.expiresInSeconds };
  }

  verify(token: string): VerifiedPayload {
    const now = seconds(this.clock);
    const known = this.verified.get(token, now);
    if (known) return known;
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.key, { algorithms: ['HS256'], clockTimestamp: now });
    } catch {
      throw invalidToken();
    }
    if (typeof payload !== 'object' || typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number') {
      throw invalidToken();
    }
    const verified = payload as VerifiedPayload;
    this.verified.remember(token, verified);
    return verified;
  }
}

/** The API's bearer tokens. */
export class JwtAccessTokens implements AccessTokens {
  private readonly tokens: Hs256Tokens;

  constructor(options: JwtOptions, clock: Clock) {
    this.tokens = new Hs256Tokens(createSecretKey(Buffer.from(options.secret, 'utf8')), options.expiresInSeconds, clock);
  }

  issue(userId: string): IssuedToken {
    return this.tokens.issue(userId);
  }

  verify(token: string): string {
    return this.tokens.verify(token).sub;
  }
}

/**
 * The dashboard's session tokens (kept in an HttpOnly cookie). Signed with a key derived from
 * the same secret for this purpose only, so a session token is never a valid bearer token
 * (which would escape the revocation a logout makes) and a bearer token never a session.
 * They carry the user's session version, which a logout raises.
 */
export class JwtSessionTokens implements SessionTokens {
  private readonly tokens: Hs256Tokens;

  constructor(options: JwtOptions, clock: Clock) {
    const key = Buffer.from(hkdfSync('sha256', Buffer.from(options.secret, 'utf8'), Buffer.alloc(0), 'wf dashboard session', 32));
    this.tokens = new Hs256Tokens(createSecretKey(key), options.expiresInSeconds, clock);
  }

  issue(userId: string, sessionVersion: number): IssuedToken {
    return this.tokens.issue(userId, { sv: sessionVersion });
  }

  verify(token: string): { userId: string; sessionVersion: number } {
    const payload = this.tokens.verify(token);
    const version: unknown = payload.sv;
    if (typeof version !== 'number' || !Number.isSafeInteger(version)) throw invalidToken();
    return { userId: payload.sub, sessionVersion: version };
  }
}

const invalidToken = () => new UnauthorizedError('invalid or expired token');
