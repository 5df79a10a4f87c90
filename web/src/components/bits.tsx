import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import type { ExecutionStatus, RecentRun, TriggerStatus } from '../api/types';
import { formatTime } from '../lib/schedule';

const STATUS_LABEL: Record<ExecutionStatus, string> = {
  queued: 'queued',
  running: 'running',
  waiting: 'waiting (delay)',
  pending_retry: 'waiting for retry',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};

export function StatusBadge({ status }: { status: ExecutionStatus }) {
  return <span className={`badge status-${status}`}>{STATUS_LABEL[status]}</span>;
}

const TRIGGER_STATUS: Record<TriggerStatus, string> = { idle: 'idle', busy: 'busy', pending: 'pending retry' };
export const TriggerStatusBadge = ({ status }: { status: TriggerStatus }) => <span className={`badge trigger-${status}`}>{TRIGGER_STATUS[status]}</span>;

/** The last runs, oldest left: one square each, a link to the run. */
export function OutcomeStrip({ runs }: { runs: readonly RecentRun[] }) {
  if (runs.length === 0) return <span className="muted">no runs</span>;
  return (
    <ol className="strip" aria-label={`last ${runs.length} runs, oldest first`}>
      {[...runs].reverse().map((r) => (
        <li key={r.executionId}>
          <Link to={`/runs/${r.executionId}`} className={`cell status-${r.status}`} title={`${STATUS_LABEL[r.status]}, ${formatTime(r.createdAt)}`}>
            <span className="sr-only">
              {STATUS_LABEL[r.status]} {formatTime(r.createdAt)}
            </span>
          </Link>
        </li>
      ))}
    </ol>
  );
}

/** The current time, updated every `ms`: for countdowns and "5 s ago". */
export function useNow(ms = 1_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Cursor pagination: the cursors of the pages before this one, so "Previous" works too. */
export function usePager() {
  const [stack, setStack] = useState<string[]>([]);
  return {
    cursor: stack.at(-1),
    page: stack.length + 1,
    next: (cursor: string) => setStack((s) => [...s, cursor]),
    previous: () => setStack((s) => s.slice(0, -1)),
    reset: () => setStack([]),
  };
}

export function Pager({ pager, nextCursor, label }: { pager: ReturnType<typeof usePager>; nextCursor: string | undefined; label: string }) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="secondary" onClick={pager.previous} disabled={pager.page === 1}>
        Previous
      </button>
      <span>Page {pager.page}</span>
      <button type="button" className="secondary" onClick={() => nextCursor && pager.next(nextCursor)} disabled={!nextCursor}>
        Next
      </button>
    </nav>
  );
}

const MAX_SHOWN = 20_000;

/** JSON, pretty, folded when long and cut when very large (the full value stays in the API). */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  const shown = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}\n… ${text.length - MAX_SHOWN} more characters` : text;
  const lines = shown.split('\n').length;
  const pre = (
    <pre className="json" tabIndex={0} aria-label={label}>
      {shown}
    </pre>
  );
  if (lines <= 12) return pre;
  return (
    <details className="json-fold">
      <summary>
        {label} ({lines} lines)
      </summary>
      {pre}
    </details>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}
