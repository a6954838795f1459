import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type Schemas, api, data, isSignedIn, signOut, whenSignedOut } from './api/client';
import { AdminPage } from './pages/admin';
import { KeysPage } from './pages/keys';
import { SignInPage } from './pages/sign-in';
import { UsagePage } from './pages/usage';

type Route = 'keys' | 'usage' | 'admin';
const ROUTES: Route[] = ['keys', 'usage', 'admin'];

function currentRoute(): Route {
  const route = location.hash.replace(/^#\/?/, '') as Route;
  return ROUTES.includes(route) ? route : 'keys';
}

function App() {
  const [signedIn, setSignedIn] = useState(isSignedIn());
  const [me, setMe] = useState<Schemas['UserProfileDto'] | undefined>();
  const [route, setRoute] = useState(currentRoute());

  useEffect(() => {
    whenSignedOut(() => {
      setSignedIn(false);
      setMe(undefined);
    });
    const onHash = () => setRoute(currentRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (signedIn) data(api.GET('/api/auth/me')).then(setMe, () => undefined);
  }, [signedIn]);

  if (!signedIn) return <SignInPage onSignedIn={() => setSignedIn(true)} />;
  const page = route === 'usage' ? <UsagePage /> : route === 'admin' && me?.is_admin ? <AdminPage /> : <KeysPage />;
  return (
    <>
      <header class="top">
        <strong class="brand">Stock data MCP</strong>
        <nav aria-label="Main">
          <a href="#/keys" aria-current={route === 'keys' ? 'page' : undefined}>Keys</a>
          <a href="#/usage" aria-current={route === 'usage' ? 'page' : undefined}>Usage</a>
          {me?.is_admin && (
            <a href="#/admin" aria-current={route === 'admin' ? 'page' : undefined}>
              Operator
            </a>
          )}
        </nav>
        <span class="who">{me?.email}</span>
        <button type="button" class="link" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
