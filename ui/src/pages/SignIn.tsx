/**
 * Sign-in with one of the analyzer's API tokens (api.tokens in its
 * configuration, or the token it generated into <data_dir>/api-token).
 * There is no default password: without a token nothing is shown.
 */
import { useState } from 'preact/hooks';
import { ApiError, signIn } from '../api.js';
import type { Principal } from '../types.js';

export function SignIn({ onSignedIn }: { onSignedIn: (p: Principal) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return;
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signIn(t));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : `cannot reach the analyzer: ${String(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form class="card" onSubmit={submit} data-testid="signin">
        <h1>Tiercel</h1>
        <p>Sign in with an API token of this analyzer (a token with the <code>read</code> scope; <code>write</code> to acknowledge and resolve incidents).</p>
        <label>
          API token
          <input type="password" name="token" autocomplete="off" spellcheck={false} value={token}
            onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)} data-testid="token" />
        </label>
        <button type="submit" disabled={busy || token.trim() === ''}>Sign in</button>
        {error ? <p class="error" role="alert" data-testid="signin-error">{error}</p> : null}
        <p class="muted small">Without configured tokens the analyzer generates one into <code>&lt;data_dir&gt;/api-token</code>. The token is kept in this tab only (sessionStorage).</p>
      </form>
    </main>
  );
}
