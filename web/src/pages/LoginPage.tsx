import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ApiError, call } from '../api/http';
import { keys } from '../api/queries';
import type { SessionUser } from '../api/types';
import { useMarkInteractive } from '../lib/interactive';
import { safeNext } from '../lib/navigation';


function explain(error: unknown, mode: 'login' | 'signup'): string {
  if (!(error instanceof ApiError)) return 'The service cannot be reached. Try again in a moment.';
  if (error.status === 401) return 'Wrong email or password.';
  if (error.status === 429) return `Too many attempts. Try again in ${error.retryAfter ?? 60} seconds.`;
  if (error.code === 'email_taken') return 'An account with this email exists already. Log in instead.';
  if (error.status === 400) return mode === 'signup' ? 'Enter a valid email and a password of at least 8 characters.' : 'Enter your email and password.';
  return error.message;
}

export function LoginPage({ mode }: { mode: 'login' | 'signup' }) {
  const [params] = useSearchParams();
  const client = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get('next'));
  useMarkInteractive();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Signing up returns a bearer token for API clients; the dashboard ignores it and opens a cookie session.
      if (mode === 'signup') await call('POST', '/auth/signup', { body: { email, password }, expectUnauthorized: true });
      const user = await call<SessionUser>('POST', '/auth/session', { body: { email, password }, expectUnauthorized: true });
      // Signed in: the app's routes take over and go on to `next`.
      client.setQueryData(keys.session, user);
    } catch (err) {
      setError(explain(err, mode));
    } finally {
      setBusy(false);
    }
  };

  const title = mode === 'login' ? 'Log in' : 'Sign up';
  return (
    <main id="main" className="auth">
      <h1>{title}</h1>
      {params.get('expired') && mode === 'login' ? (
        <p className="notice" role="status">
          Your session has ended. Log in again to go back where you were.
        </p>
      ) : null}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label htmlFor="email">Email</label>
        <input id="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
          aria-describedby={mode === 'signup' ? 'password-hint' : undefined}
        />
        {mode === 'signup' ? (
          <p id="password-hint" className="hint">
            At least 8 characters.
          </p>
        ) : null}
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {title}
        </button>
      </form>
      <p>
        {mode === 'login' ? (
          <>
            No account yet? <Link to={`/signup?next=${encodeURIComponent(next)}`}>Sign up</Link>
          </>
        ) : (
          <>
            Have an account? <Link to={`/login?next=${encodeURIComponent(next)}`}>Log in</Link>
          </>
        )}
      </p>
    </main>
  );
}
