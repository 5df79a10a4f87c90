import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, call } from '../api/http';
import { keys, useRun } from '../api/queries';
import type { Run } from '../api/types';
import { AttemptTimeline } from '../components/AttemptTimeline';
import { ErrorNote, JsonView, StatusBadge, useNow } from '../components/bits';
import { attemptsAtMost, formatDuration, formatTime } from '../lib/schedule';

const UNFINISHED = new Set(['queued', 'running', 'pending_retry', 'waiting']);
const RESUMABLE = new Set(['failed', 'cancelled']);

/** What a refused control says, in words. */
function refusal(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  switch (err.code) {
    case 'workflow_busy':
      return 'Not started: another run of this workflow is in progress.';
    case 'execution_finished':
      return 'The run finished before it could be cancelled.';
    default:
      return err.message;
  }
}

/**
 * The run's controls: Cancel while it has not finished; Re-run (from the step that did not
 * succeed) for a failed or cancelled run, and Re-run from the start for any finished one.
 * The page refreshes from the answer and the live stream like everything else here.
 */
function RunActions({ run }: { run: Run }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const act = async (work: () => Promise<string | undefined>) => {
    setBusy(true);
    setProblem(null);
    try {
      const next = await work();
      await client.invalidateQueries({ queryKey: keys.runs });
      if (next && next !== run.executionId) navigate(`/runs/${next}`);
    } catch (err) {
      setProblem(refusal(err));
      await client.invalidateQueries({ queryKey: keys.run(run.executionId) });
    } finally {
      setBusy(false);
    }
  };
  const path = `/executions/${encodeURIComponent(run.executionId)}`;
  const cancel = () =>
    act(async () => {
      client.setQueryData(keys.run(run.executionId), await call<Run>('POST', `${path}/cancel`));
      return undefined;
    });
  const rerun = (from: 'failed-step' | 'start') => act(async () => (await call<{ executionId: string }>('POST', `${path}/retry`, { body: { from } })).executionId);
  const finished = !UNFINISHED.has(run.status);
  return (
    <div className="actions" data-run={run.executionId}>
      {!finished ? (
        <button type="button" onClick={() => void cancel()} disabled={busy}>
          Cancel
        </button>
      ) : null}
      {RESUMABLE.has(run.status) ? (
        <button type="button" onClick={() => void rerun('failed-step')} disabled={busy} title="Run again from the step that did not succeed; the steps that succeeded keep their outputs">
          Re-run from the failed step
        </button>
      ) : null}
      {finished ? (
        <button type="button" className="secondary" onClick={() => void rerun('start')} disabled={busy} title="A new run with the same payload">
          Re-run from the start
        </button>
      ) : null}
      {problem ? (
        <p className="error" role="alert">
          {problem}
        </p>
      ) : null}
    </div>
  );
}

export function RunPage() {
  const { executionId = '' } = useParams();
  const run = useRun(executionId);
  const now = useNow();
  if (run.error) return <ErrorNote error={run.error} />;
  if (!run.data) return <p role="status">Loading the run…</p>;
  const r = run.data;
  return (
    <section>
      <p className="crumbs">
        <Link to="/runs">Runs</Link> / <Link to={`/flows/${encodeURIComponent(r.workflowId)}`}>{r.workflowId}</Link>
      </p>
      <h1>
        Run <span className="mono">{r.executionId.slice(0, 8)}</span> <StatusBadge status={r.status} />
      </h1>
      <RunActions run={r} />
      <dl className="facts">
        <dt>Attempt</dt>
        <dd>
          {r.attempt} of at most {attemptsAtMost(r)}
        </dd>
        <dt>Trigger</dt>
        <dd>
          {r.trigger.type}, {formatTime(r.trigger.firedAt)}
        </dd>
        {r.startedAt ? (
          <>
            <dt>Started</dt>
            <dd>{formatTime(r.startedAt)}</dd>
          </>
        ) : null}
        {r.finishedAt ? (
          <>
            <dt>Finished</dt>
            <dd>
              {formatTime(r.finishedAt)} ({formatDuration(new Date(r.finishedAt).getTime() - new Date(r.startedAt ?? r.createdAt).getTime())})
            </dd>
          </>
        ) : null}
        <dt>Workflow version</dt>
        <dd>{r.workflowVersion}</dd>
        {r.rerunOf ? (
          <>
            <dt>Re-run of</dt>
            <dd>
              <Link to={`/runs/${r.rerunOf}`} className="mono">
                {r.rerunOf.slice(0, 8)}
              </Link>
            </dd>
          </>
        ) : null}
      </dl>
      <h2>Timeline</h2>
      <AttemptTimeline run={r} now={now} />
      <h2>Payload</h2>
      {r.trigger.payload === undefined ? <p className="muted">No payload.</p> : <JsonView value={r.trigger.payload} label="Trigger payload" />}
    </section>
  );
}
