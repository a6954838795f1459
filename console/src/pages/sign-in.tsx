import { useState } from 'preact/hooks';
import { api, data, signIn } from '../api/client';
import { ErrorMessage } from '../components/error-message';
import { useSubmit } from '../components/use-submit';

/** Sign in, or register and then sign in, with the REST API's own accounts. */
export function SignInPage({ onSignedIn }: { onSignedIn: () => void }) {
  const [mode, setMode] = useState<'sign-in' | 'register'>('sign-in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, onSubmit } = useSubmit(async () => {
    if (mode === 'register') await data(api.POST('/api/auth/register', { body: { email, password } }));
    const token = await data(api.POST('/api/auth/login', { body: { email, password } }));
    signIn(token.access_token);
    onSignedIn();
  });

  return (
    <main class="narrow">
      <h1>{mode === 'sign-in' ? 'Sign in' : 'Create an account'}</h1>
      <p class="muted">Manage your MCP API keys and see what your agents used.</p>
      <form onSubmit={onSubmit} class="card">
        <ErrorMessage error={error} />
        <label for="email">Email</label>
        <input id="email" type="email" autocomplete="username" required maxLength={254} value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        <label for="password">Password</label>
        <input
          id="password"
          type="password"
          autocomplete={mode === 'sign-in' ? 'current-password' : 'new-password'}
          required
          maxLength={128}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          {mode === 'sign-in' ? 'Sign in' : 'Register and sign in'}
        </button>
      </form>
      <p>
        {mode === 'sign-in' ? 'No account yet? ' : 'Have an account? '}
        <button type="button" class="link" onClick={() => setMode(mode === 'sign-in' ? 'register' : 'sign-in')}>
          {mode === 'sign-in' ? 'Create one' : 'Sign in'}
        </button>
      </p>
    </main>
  );
}
