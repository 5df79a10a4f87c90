import { Link, useParams } from 'react-router';
import { useRun } from '../api/queries';
import type { Run, Step } from '../api/types';
import { ErrorNote, JsonView, StatusBadge, useNow } from '../components/bits';
import { attemptsAtMost, countdown, formatDuration, formatTime } from '../lib/schedule';

/**
 * Room for the run's controls (cancel, re-run) once the API has them: each is a button in
 * this bar acting on `run`, refreshed by the live stream like everything else here.
 */
function RunActions({ run }: { run: Run }) {
  return <div className="actions" data-run={run.executionId} hidden />;
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
