import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { ApiError, call, get, query } from '../api/http';
import { keys, useWorkflow } from '../api/queries';
import type { Page, RunSummary, Workflow } from '../api/types';
import { ErrorNote, JsonView, TriggerStatusBadge } from '../components/bits';
import { describeTrigger, formatTime } from '../lib/schedule';
import { RunsList } from './RunsPage';

/** The run that holds a busy workflow: the newest one not yet finished. */
async function runInProgress(workflowId: string): Promise<string | undefined> {
  const page = await get<Page<RunSummary>>(`/executions${query({ workflowId, status: 'queued,running,pending_retry', limit: 1 })}`);
  return page.items[0]?.executionId;
}

function RunNow({ workflow }: { workflow: Workflow }) {
  const navigate = useNavigate();
  const [payload, setPayload] = useState('');
  const [problem, setProblem] = useState<{ message: string; runId?: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    let body: unknown;
    if (payload.trim()) {
      try {
        body = JSON.parse(payload);
      } catch {
        setProblem({ message: 'The payload must be valid JSON (an object).' });
        return;
      }
    }
    setBusy(true);
    try {
      const { executionId } = await call<{ executionId: string }>('POST', `/workflows/${encodeURIComponent(workflow.workflowId)}/trigger`, body === undefined ? {} : { body });
      navigate(`/runs/${executionId}`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'workflow_busy') {
        const status = (err.details as { triggerStatus?: string } | undefined)?.triggerStatus;
        const runId = await runInProgress(workflow.workflowId).catch(() => undefined);
        setProblem({ message: `Not started: a run is in progress (${status === 'pending' ? 'waiting for a retry' : 'busy'}).`, ...(runId ? { runId } : {}) });
      } else {
        setProblem({ message: err instanceof Error ? err.message : String(err) });
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="run-now">
      <h2 id="run-now">Run now</h2>
      <label htmlFor="payload">Payload (JSON object, optional)</label>
      <textarea id="payload" rows={4} className="mono" value={payload} onChange={(e) => setPayload(e.target.value)} placeholder='{"name": "Ada"}' />
      {problem ? (
        <p className="error" role="alert">
          {problem.message} {problem.runId ? <Link to={`/runs/${problem.runId}`}>See the run in progress</Link> : null}
        </p>
      ) : null}
      <button type="submit" disabled={busy}>
        Run now
      </button>
    </form>
  );
}

function Webhook({ workflow, secret: initialSecret }: { workflow: Workflow; secret: string | undefined }) {
  const client = useQueryClient();
  const [secret, setSecret] = useState(initialSecret);
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState(false);
  if (!workflow.hook) return null;
  const curl = `curl -X POST '${workflow.hook.url}' \\\n  -H 'x-hook-secret: ${secret ?? '<your secret>'}' \\\n  -H 'content-type: application/json' \\\n  -d '{"hello": "world"}'`;
  const rotate = async () => {
    setError(null);
    try {
      const hook = await call<{ secret: string }>('POST', `/workflows/${encodeURIComponent(workflow.workflowId)}/hook/rotate`);
      setSecret(hook.secret);
      await client.invalidateQueries({ queryKey: keys.workflow(workflow.workflowId) });
    } catch (err) {
      setError(err);
    }
  };
  const copy = async () => {
    await navigator.clipboard.writeText(curl);
    setCopied(true);
  };
  return (
    <section className="card" aria-labelledby="webhook">
      <h2 id="webhook">Webhook</h2>
      <p>
        URL: <code>{workflow.hook.url}</code>
      </p>
      {secret ? (
        <p className="notice" role="status">
          Secret (shown only now; keep it): <code>{secret}</code>
        </p>
      ) : (
        <p className="muted">The secret was shown once, when it was made. Rotate it to get a new one; the old one stops working.</p>
      )}
      <pre className="json">{curl}</pre>
      <button type="button" className="secondary" onClick={() => void copy()}>
        {copied ? 'Copied' : 'Copy the curl command'}
      </button>{' '}
      <button type="button" className="secondary" onClick={() => void rotate()}>
        Rotate the secret
      </button>
      <ErrorNote error={error} />
    </section>
  );
}

function DeleteWorkflow({ workflow }: { workflow: Workflow }) {
  const navigate = useNavigate();
  const client = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const remove = async () => {
    try {
      await call('DELETE', `/workflows/${encodeURIComponent(workflow.workflowId)}`, { headers: { 'if-match': String(workflow.version) } });
      await client.invalidateQueries({ queryKey: keys.workflows });
      navigate('/flows');
    } catch (err) {
      setError(err);
    }
  };
  return confirming ? (
    <span>
      Delete {workflow.workflowId}?{' '}
      <button type="button" className="danger" onClick={() => void remove()}>
        Yes, delete
      </button>{' '}
      <button type="button" className="secondary" onClick={() => setConfirming(false)}>
        Keep it
      </button>
      <ErrorNote error={error} />
    </span>
  ) : (
    <button type="button" className="secondary" onClick={() => setConfirming(true)}>
      Delete
    </button>
  );
}

export function WorkflowPage() {
  const { workflowId = '' } = useParams();
  const location = useLocation();
  const workflow = useWorkflow(workflowId);
  const createdSecret = (location.state as { hookSecret?: string } | null)?.hookSecret;
  if (workflow.error) return <ErrorNote error={workflow.error} />;
  if (!workflow.data) return <p role="status">Loading the workflow…</p>;
  const w = workflow.data;
  return (
    <section>
      <p className="crumbs">
        <Link to="/flows">Workflows</Link> / {w.workflowId}
      </p>
      <div className="heading">
        <h1>{w.name}</h1>
        <span>
          <Link className="button secondary" to={`/flows/${encodeURIComponent(w.workflowId)}/edit`}>
            Edit
          </Link>{' '}
          <DeleteWorkflow workflow={w} />
        </span>
      </div>
      <dl className="facts">
        <dt>Id</dt>
        <dd className="mono">{w.workflowId}</dd>
        <dt>Trigger</dt>
        <dd>{describeTrigger(w.trigger)}</dd>
        <dt>Status</dt>
        <dd>
          <TriggerStatusBadge status={w.trigger.status} /> {w.enabled ? '' : '(disabled)'}
        </dd>
        {w.trigger.nextRunAt ? (
          <>
            <dt>Next run</dt>
            <dd>{formatTime(w.trigger.nextRunAt)}</dd>
          </>
        ) : null}
        <dt>Retries</dt>
        <dd>
          up to {w.retryPolicy.maxRetries}, from {w.retryPolicy.baseDelayMs} ms to {w.retryPolicy.maxDelayMs} ms apart
        </dd>
        <dt>Version</dt>
        <dd>{w.version}</dd>
      </dl>
      <div className="columns">
        <RunNow workflow={w} />
        <Webhook workflow={w} secret={createdSecret} />
      </div>
      <JsonView value={{ trigger: w.trigger, actions: w.actions, retryPolicy: w.retryPolicy }} label="Definition" />
      <h2>Runs</h2>
      <RunsList workflowId={w.workflowId} />
    </section>
  );
}
