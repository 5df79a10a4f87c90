import type { ReactNode } from 'react';
import type { Run, Step } from '../api/types';
import { currentAttemptSpan, earlierAttemptSpan, ENDED_AS_LABEL, type AttemptSpan, type EarlierAttempt } from '../lib/attempts';
import { countdown, formatDuration, formatTime } from '../lib/schedule';
import { JsonView, StatusBadge } from './bits';

/** One step as it ended (or stands); `outputLabel` names its output uniquely on the page. */
function StepItem({ step, outputLabel }: { step: Step; outputLabel: string }) {
  const duration = step.startedAt && step.finishedAt ? new Date(step.finishedAt).getTime() - new Date(step.startedAt).getTime() : undefined;
  return (
    <li className={`step step-${step.status}`}>
      <h4>
        Step {step.index + 1}: {step.type} <span className={`badge step-badge-${step.status}`}>{step.status}</span>
      </h4>
      <dl className="facts">
        {step.attempt !== undefined ? (
          <>
            <dt>Attempt</dt>
            <dd>{step.attempt}</dd>
          </>
        ) : null}
        <SpanFacts span={{ ...(step.startedAt ? { startedAt: step.startedAt } : {}), ...(duration !== undefined ? { durationMs: duration } : {}) }} />
      </dl>
      {step.error ? (
        <p className="error">
          <strong>Error:</strong> {step.error}
        </p>
      ) : null}
      {step.output !== undefined ? <JsonView value={step.output} label={outputLabel} /> : null}
    </li>
  );
}

function SpanFacts({ span }: { span: AttemptSpan }) {
  return (
    <>
      {span.startedAt ? (
        <>
          <dt>Started</dt>
          <dd>{formatTime(span.startedAt)}</dd>
        </>
      ) : null}
      {span.durationMs !== undefined ? (
        <>
          <dt>Duration</dt>
          <dd>{formatDuration(span.durationMs)}</dd>
        </>
      ) : null}
    </>
  );
}

/** An attempt on the timeline: its heading, when and how long, then what it says and its steps. */
function AttemptItem({ heading, span, className, children }: { heading: ReactNode; span: AttemptSpan; className: string; children: ReactNode }) {
  return (
    <li className={`attempt ${className}`}>
      <h3>{heading}</h3>
      <dl className="facts">
        <SpanFacts span={span} />
      </dl>
      {children}
    </li>
  );
}

function EarlierAttemptItem({ record }: { record: EarlierAttempt }) {
  return (
    <AttemptItem
      className={`attempt-${record.endedAs}`}
      span={earlierAttemptSpan(record)}
      heading={
        <>
          Attempt {record.attempt} <span className={`badge ended-${record.endedAs}`}>{ENDED_AS_LABEL[record.endedAs]}</span>
        </>
      }
    >
      {record.error ? (
        <p className="error">
          <strong>Error:</strong> {record.error}
        </p>
      ) : null}
      {record.steps.length === 0 ? (
        <p className="muted">No step ran.</p>
      ) : (
        <ol className="timeline">
          {record.steps.map((s) => (
            <StepItem key={s.index} step={s} outputLabel={`Output of step ${s.index + 1}, attempt ${record.attempt}`} />
          ))}
        </ol>
      )}
    </AttemptItem>
  );
}

/** What the current attempt waits for, counting down: the next retry, or the end of a delay. */
function Countdown({ run, now }: { run: Run; now: Date }) {
  if (!run.nextAttemptAt) return null;
  const left = countdown(new Date(run.nextAttemptAt), now);
  if (run.status === 'pending_retry')
    return (
      <p className="notice" role="timer" aria-live="off">
        Attempt {run.attempt} failed. Attempt {run.attempt + 1} starts in <strong className="mono">{left}</strong>
      </p>
    );
  if (run.status === 'waiting')
    return (
      <p className="notice" role="timer" aria-live="off">
        Waiting at a delay until {formatTime(run.nextAttemptAt)}: resumes in <strong className="mono">{left}</strong>
      </p>
    );
  return null;
}

function CurrentAttemptItem({ run, now }: { run: Run; now: Date }) {
  return (
    <AttemptItem
      className="attempt-current"
      span={currentAttemptSpan(run, now)}
      heading={
        <>
          Attempt {run.attempt} <StatusBadge status={run.status} />
        </>
      }
    >
      <Countdown run={run} now={now} />
      {run.error ? (
        <p className="error">
          <strong>{run.status === 'failed' ? 'Failed' : 'Last error'}:</strong> {run.error}
        </p>
      ) : null}
      <ol className="timeline">
        {run.steps.map((s) => (
          <StepItem key={s.index} step={s} outputLabel={`Output of step ${s.index + 1}`} />
        ))}
      </ol>
    </AttemptItem>
  );
}

/**
 * Every attempt of the run, oldest first as the API gives them: the earlier ones as they
 * ended (the newest 10 at most), then the current one with its countdown.
 */
export function AttemptTimeline({ run, now }: { run: Run; now: Date }) {
  return (
    <ol className="attempts" aria-label="Attempts, oldest first">
      {run.attempts.map((record) => (
        <EarlierAttemptItem key={`${record.attempt}-${record.finishedAt}`} record={record} />
      ))}
      <CurrentAttemptItem run={run} now={now} />
    </ol>
  );
}
