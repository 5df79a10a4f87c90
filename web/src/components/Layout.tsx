import { useQueryClient } from '@tanstack/react-query';
import { NavLink, Outlet, useNavigate } from 'react-router';
import { call } from '../api/http';
import { keys } from '../api/queries';
import { useMarkInteractive } from '../lib/interactive';
import type { LiveState } from '../live/useLiveUpdates';

const LIVE_LABEL: Record<LiveState, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' };

export function Layout({ email, live }: { email: string; live: LiveState }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  useMarkInteractive();
  const logOut = async () => {
    await call('DELETE', '/auth/session', { expectUnauthorized: true }).catch(() => undefined);
    client.clear();
    client.setQueryData(keys.session, null);
    navigate('/login', { replace: true });
  };
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Workflows</span>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Overview
          </NavLink>
          <NavLink to="/flows">Workflows</NavLink>
          <NavLink to="/runs">Runs</NavLink>
        </nav>
        <span className={`live live-${live}`} role="status">
          {LIVE_LABEL[live]}
        </span>
        <span className="user">{email}</span>
        <button type="button" className="secondary" onClick={() => void logOut()}>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}
