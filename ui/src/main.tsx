/**
 * The Tiercel web UI: sign-in, then the dashboard, alerts and incidents over
 * the query API (/api/v1). Every piece of event text reaches the page through
 * Preact's text binding, which sets text nodes and attribute values — never
 * markup — so pod names and command lines carrying HTML are shown, not run.
 * The server's Content-Security-Policy forbids inline and foreign scripts as
 * a second line of defence.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, currentToken, onSignOut, signOut } from './api.js';
import { Link } from './components/Link.js';
import { AlertDetail } from './pages/AlertDetail.js';
import { Alerts } from './pages/Alerts.js';
import { Dashboard } from './pages/Dashboard.js';
import { IncidentDetail } from './pages/IncidentDetail.js';
import { Incidents } from './pages/Incidents.js';
import { SignIn } from './pages/SignIn.js';
import { useLocation } from './router.js';
import type { Principal } from './types.js';
import './style.css';

function Page({ principal }: { principal: Principal }) {
  const { path, params } = useLocation();
  const rest = path.replace(/^\/ui\/?/, '').replace(/\/$/, '');
  const [section, id] = rest.split('/', 2).map((s) => decodeURIComponent(s));
  switch (section) {
    case '':
    case undefined:
    case 'dashboard':
      return <Dashboard params={params} />;
    case 'alerts':
      return id ? <AlertDetail key={id} id={id} /> : <Alerts params={params} />;
    case 'incidents':
      return id ? <IncidentDetail key={id} id={id} principal={principal} /> : <Incidents params={params} />;
    default:
      return <main><p class="error">No such page.</p></main>;
  }
}

function Nav({ principal }: { principal: Principal }) {
  const { path } = useLocation();
  const active = (p: string): string => (path.startsWith(p) ? 'active' : '');
  return (
    <nav class="top">
      <span class="brand">Tiercel</span>
      <Link href="/ui/" class={path === '/' || path === '/ui' || path === '/ui/' || path.startsWith('/ui/dashboard') ? 'active' : ''}>Dashboard</Link>
      <Link href="/ui/alerts" class={active('/ui/alerts')}>Alerts</Link>
      <Link href="/ui/incidents" class={active('/ui/incidents')}>Incidents</Link>
      <span class="spacer" />
      <span class="who" data-testid="whoami">{`${principal.name} (${principal.scopes.join(', ')})`}</span>
      <button type="button" onClick={signOut} data-testid="signout">Sign out</button>
    </nav>
  );
}

function App() {
  const [principal, setPrincipal] = useState<Principal | null>(null);
  const [checking, setChecking] = useState(currentToken() !== null);
  useEffect(() => onSignOut(() => setPrincipal(null)), []);
  useEffect(() => {
    // A token kept from earlier in this tab: check it is still accepted.
    if (!currentToken()) return;
    api<Principal>('/whoami').then(setPrincipal, () => setPrincipal(null)).finally(() => setChecking(false));
  }, []);
  if (checking) return <main class="muted">checking the token…</main>;
  if (!principal) return <SignIn onSignedIn={setPrincipal} />;
  return (
    <>
      <Nav principal={principal} />
      <Page principal={principal} />
    </>
  );
}

render(<App />, document.getElementById('app')!);
