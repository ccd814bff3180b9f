/**
 * Bearer-token authentication of the query API.
 *
 * Tokens come from the configuration, each with a name (what logs and the
 * ingest handler see; the secret itself is never logged) and scopes:
 * `read` (queries), `write` (incident status changes), `ingest` (agents
 * posting alerts). A token is compared as a SHA-256 digest with
 * `timingSafeEqual`, against every configured token without stopping at the
 * first match, so the time taken tells nothing about how much of a guess was
 * right or which token matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from './errors.js';

export type ApiScope = 'read' | 'write' | 'ingest';
export const API_SCOPES: readonly ApiScope[] = ['read', 'write', 'ingest'];

export interface ApiToken {
  readonly name: string;
  readonly token: string;
  readonly scopes: readonly ApiScope[];
}

/** The identity a request authenticated as. */
export interface ApiPrincipal {
  readonly name: string;
  readonly scopes: readonly ApiScope[];
}

const CHALLENGE = 'Bearer realm="tiercel"';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function unauthorized(message: string, error = 'invalid_token'): ApiError {
  return new ApiError(401, 'unauthorized', message, {},
    { 'WWW-Authenticate': `${CHALLENGE}, error="${error}"` });
}

export interface Authenticator {
  /** The principal of the request's bearer token; throws a 401 {@link ApiError} without a valid one. */
  authenticate(headers: IncomingHttpHeaders): ApiPrincipal;
}

export function createAuthenticator(tokens: readonly ApiToken[]): Authenticator {
  const known = tokens
    .filter((t) => t.token.length > 0)
    .map((t) => ({ digest: digest(t.token), principal: { name: t.name, scopes: [...t.scopes] } satisfies ApiPrincipal }));
  return {
    authenticate(headers) {
      const header = headers.authorization;
      if (header === undefined || header.trim() === '') {
        // RFC 6750 §3.1: no error code when the request had no credentials at all.
        throw new ApiError(401, 'unauthorized', 'authentication required: send Authorization: Bearer <token>', {},
          { 'WWW-Authenticate': CHALLENGE });
      }
      const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
      if (!m) throw unauthorized('the Authorization header is not a bearer token', 'invalid_request');
      const presented = digest(m[1]!);
      let found: ApiPrincipal | undefined;
      for (const t of known) {
        if (timingSafeEqual(presented, t.digest) && found === undefined) found = t.principal;
      }
      if (!found) {
        throw unauthorized(known.length === 0 ? 'no API tokens are configured on this server' : 'invalid bearer token');
      }
      return found;
    },
  };
}

/** Throws a 403 {@link ApiError} when the principal lacks the scope. */
export function requireScope(principal: ApiPrincipal, scope: ApiScope): void {
  if (!principal.scopes.includes(scope)) {
    throw new ApiError(403, 'forbidden', `the token '${principal.name}' lacks the '${scope}' scope`, { scope },
      { 'WWW-Authenticate': `${CHALLENGE}, error="insufficient_scope", scope="${scope}"` });
  }
}
