/**
 * Authenticating the kube-apiserver at the audit webhook: by a client
 * certificate that verifies against the configured CA (optionally with one of
 * a list of subject CNs), and/or by a bearer token. When both are configured,
 * either one suffices, as with the apiserver's own authenticators.
 *
 * The TLS server asks for a client certificate but does not refuse the
 * handshake without one, so that a refused client gets an HTTP 401 it can
 * read (and the refusal is counted) rather than a bare TLS alert.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface WebhookAuthOptions {
  /** The expected bearer token, if tokens are accepted. */
  readonly bearerToken?: string | undefined;
  /** Whether a client certificate verified by the server's CA authenticates. */
  readonly clientCert: boolean;
  /** When non-empty, the certificate's subject CN must be one of these. */
  readonly allowedCommonNames?: readonly string[];
}

export type AuthResult =
  | { readonly ok: true; readonly via: 'token' | 'client_cert' }
  | { readonly ok: false; readonly reason: 'no_credentials' | 'bad_token' | 'bad_client_cert'; readonly message: string };

export type Authenticator = (req: IncomingMessage) => AuthResult;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Builds the authenticator, or undefined when no method is configured (the webhook is then open). */
export function createAuthenticator(options: WebhookAuthOptions): Authenticator | undefined {
  const tokenDigest = options.bearerToken ? digest(options.bearerToken) : undefined;
  const clientCert = options.clientCert;
  const names = new Set(options.allowedCommonNames ?? []);
  if (!tokenDigest && !clientCert) return undefined;

  return (req) => {
    let certProblem: string | undefined;
    if (clientCert) {
      const socket = req.socket as Partial<TLSSocket>;
      if (socket.encrypted && typeof socket.getPeerCertificate === 'function') {
        const cert = socket.getPeerCertificate();
        const presented = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
        if (presented) {
          if (!socket.authorized) {
            certProblem = `client certificate not trusted: ${String(socket.authorizationError ?? 'unknown error')}`;
          } else {
            const cn = cert.subject?.CN;
            const cnText = Array.isArray(cn) ? cn.join(',') : cn;
            if (names.size === 0 || (typeof cnText === 'string' && names.has(cnText))) return { ok: true, via: 'client_cert' };
            certProblem = `client certificate CN ${JSON.stringify(cnText ?? '')} is not in webhook.auth.allowed_common_names`;
          }
        }
      }
    }
    let tokenProblem: string | undefined;
    if (tokenDigest) {
      const header = req.headers.authorization;
      if (header !== undefined) {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (m && timingSafeEqual(digest(m[1]!), tokenDigest)) return { ok: true, via: 'token' };
        tokenProblem = m ? 'invalid bearer token' : 'the Authorization header is not a bearer token';
      }
    }
    if (certProblem !== undefined) return { ok: false, reason: 'bad_client_cert', message: certProblem };
    if (tokenProblem !== undefined) return { ok: false, reason: 'bad_token', message: tokenProblem };
    const wanted = [clientCert ? 'a client certificate' : '', tokenDigest ? 'a bearer token' : ''].filter(Boolean).join(' or ');
    return { ok: false, reason: 'no_credentials', message: `authentication required: ${wanted}` };
  };
}
