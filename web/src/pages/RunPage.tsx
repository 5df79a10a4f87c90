import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, call } from '../api/http';
import { keys, useRun } from '../api/queries';
import type { Run, Step } from '../api/types';
import { ErrorNote, JsonView, StatusBadge, useNow } from '../components/bits';
import { attemptsAtMost, countdown, formatDuration, formatTime } from '../lib/schedule';

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

function StepItem({ step }: { step: Step }) {
  const duration = step.startedAt && step.finishedAt ? new Date(step.finishedAt).getTime() - new Date(step.startedAt).getTime() : undefined;
  return (
    <li className={`step step-${step.status}`}>
      <h3>
        Step {step.index + 1}: {step.type} <span className={`badge step-badge-${step.status}`}>{step.status}</span>
      </h3>
      <dl className="facts">
        {step.attempt !== undefined ? (
          <>
            <dt>Attempt</dt>
            <dd>{step.attempt}</dd>
          </>
        ) : null}
        {step.startedAt ? (
          <>
            <dt>Started</dt>
            <dd>{formatTime(step.startedAt)}</dd>
          </>
        ) : null}
        {duration !== undefined ? (
          <>
            <dt>Duration</dt>
            <dd>{formatDuration(duration)}</dd>
          </>
        ) : null}
      </dl>
      {step.error ? (
        <p className="error">
          <strong>Error:</strong> {step.error}
        </p>
      ) : null}
      {step.output !== undefined ? <JsonView value={step.output} label={`Output of step ${step.index + 1}`} /> : null}
    </li>
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
      {r.status === 'pending_retry' && r.nextAttemptAt ? (
        <p className="notice" role="timer" aria-live="off">
          Attempt {r.attempt} failed. Attempt {r.attempt + 1} starts in <strong className="mono">{countdown(new Date(r.nextAttemptAt), now)}</strong>
        </p>
      ) : null}
      {r.error ? (
        <p className="error">
          <strong>{r.status === 'failed' ? 'Failed' : 'Last error'}:</strong> {r.error}
        </p>
      ) : null}
      <h2>Steps</h2>
      <ol className="timeline">
        {r.steps.map((s) => (
          <StepItem key={s.index} step={s} />
        ))}
      </ol>
      <h2>Payload</h2>
      {r.trigger.payload === undefined ? <p className="muted">No payload.</p> : <JsonView value={r.trigger.payload} label="Trigger payload" />}
    </section>
  );
}
