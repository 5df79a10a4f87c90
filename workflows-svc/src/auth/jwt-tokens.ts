import { createSecretKey, type KeyObject } from 'node:crypto';
import { UnauthorizedError, type Clock } from '@wf/shared';
import jwt from 'jsonwebtoken';
import type { AccessTokens, IssuedToken } from '../app/ports.js';

export interface JwtOptions {
  secret: string;
  expiresInSeconds: number;
}

const seconds = (clock: Clock) => Math.floor(clock.now().getTime() / 1000);

/**
 * HS256 access tokens whose subject is the userId. Verification pins the algorithm (so
 * `alg: none` or an RS/HS confusion is refused), requires `sub` and `exp`, and reads time
 * from the injected clock. Every failure is the same 401: a client learns nothing from it.
 *
 * The secret is turned into a KeyObject once: given a string, jsonwebtoken first tries to
 * parse it as a public key on every call, which was the largest single cost of a request.
 */
export class JwtAccessTokens implements AccessTokens {
  private readonly key: KeyObject;

  constructor(
    private readonly options: JwtOptions,
    private readonly clock: Clock,
  ) {
    this.key = createSecretKey(Buffer.from(options.secret, 'utf8'));
  }

  issue(userId: string): IssuedToken {
    const token = jwt.sign({ iat: seconds(this.clock) }, this.key, {
      algorithm: 'HS256',
      subject: userId,
      expiresIn: this.options.expiresInSeconds,
    });
    return { token, expiresIn: this.options.expiresInSeconds };
  }

  verify(token: string): string {
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.key, { algorithms: ['HS256'], clockTimestamp: seconds(this.clock) });
    } catch {
      throw invalidToken();
    }
    if (typeof payload !== 'object' || typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number') {
      throw invalidToken();
    }
    return payload.sub;
  }
}

const invalidToken = () => new UnauthorizedError('invalid or expired token');
