import { useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { Navigate, Route, Routes, useLocation, useSearchParams } from 'react-router';
import { whenSessionLost } from './api/http';
import { keys, useSession } from './api/queries';
import { Layout } from './components/Layout';
import { safeNext } from './lib/navigation';
import { useLiveUpdates } from './live/useLiveUpdates';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { OverviewPage } from './pages/OverviewPage';
import { RunPage } from './pages/RunPage';
import { RunsPage } from './pages/RunsPage';
import { WorkflowPage } from './pages/WorkflowPage';
import { WorkflowsPage } from './pages/WorkflowsPage';

// The editor carries the schema validator (zod): loaded when first opened, not with the first page.
const WorkflowEditPage = lazy(() => import('./pages/WorkflowEditPage').then((m) => ({ default: m.WorkflowEditPage })));

/** Where the user was, so logging in again brings them back. */
const here = (location: { pathname: string; search: string }) => `${location.pathname}${location.search}`;

/** Just signed in on the login page: on to where the user was going. */
function AfterLogin() {
  const [params] = useSearchParams();
  return <Navigate to={safeNext(params.get('next'))} replace />;
}

export function App() {
  const session = useSession();
  const client = useQueryClient();
  const location = useLocation();
  const signedIn = Boolean(session.data);

  // A 401 from any call while signed in: the session expired or was ended elsewhere. The
  // signed-out routes then send the user to log in, saying why, and back here afterwards.
  const [ended, setEnded] = useState(false);
  const sessionLost = useCallback(() => {
    if (!client.getQueryData(keys.session)) return;
    setEnded(true);
    client.setQueryData(keys.session, null);
    client.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' && q.queryKey[0] !== 'openapi' });
  }, [client]);
  useEffect(() => whenSessionLost(sessionLost), [sessionLost]);
  const live = useLiveUpdates(signedIn, sessionLost);

  if (session.isPending) return <p className="loading" role="status">Loading…</p>;
  if (!signedIn) {
    return (
      <Routes>
        <Route path="/login" element={<LoginPage mode="login" />} />
        <Route path="/signup" element={<LoginPage mode="signup" />} />
        <Route path="*" element={<Navigate to={`/login?${ended ? 'expired=1&' : ''}next=${encodeURIComponent(here(location))}`} replace />} />
      </Routes>
    );
  }
  return (
    <Routes>
      <Route element={<Layout email={session.data!.email} live={live} />}>
        <Route index element={<OverviewPage />} />
        <Route path="/flows" element={<WorkflowsPage />} />
        <Route path="/flows/new" element={<Suspense fallback={<p role="status">Loading the editor…</p>}><WorkflowEditPage /></Suspense>} />
        <Route path="/flows/:workflowId" element={<WorkflowPage />} />
        <Route path="/flows/:workflowId/edit" element={<Suspense fallback={<p role="status">Loading the editor…</p>}><WorkflowEditPage /></Suspense>} />
        <Route path="/runs" element={<RunsPage />} />
        <Route path="/runs/:executionId" element={<RunPage />} />
        <Route path="/login" element={<AfterLogin />} />
        <Route path="/signup" element={<AfterLogin />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
