import { useState } from 'react';
import { useRuns, type RunFilters } from '../api/queries';
import type { ExecutionStatus } from '../api/types';
import { ErrorNote, Pager, usePager } from '../components/bits';
import { RunsTable } from '../components/RunsTable';

const STATUSES: ExecutionStatus[] = ['queued', 'running', 'waiting', 'pending_retry', 'completed', 'failed', 'cancelled'];

/** `datetime-local` text (the browser's time zone) as an ISO instant; empty stays empty. */
const instant = (local: string) => (local ? new Date(local).toISOString() : undefined);

/** Runs newest first, across workflows or of one, filtered by status and time. */
export function RunsList({ workflowId }: { workflowId?: string }) {
  const [statuses, setStatuses] = useState<ExecutionStatus[]>([]);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const pager = usePager();
  const filters: RunFilters = {
    ...(workflowId ? { workflowId } : {}),
    ...(statuses.length ? { status: statuses.join(',') } : {}),
    ...(from ? { from: instant(from)! } : {}),
    ...(to ? { to: instant(to)! } : {}),
  };
  const runs = useRuns(filters, pager.cursor);
  const toggle = (s: ExecutionStatus) => {
    pager.reset();
    setStatuses((current) => (current.includes(s) ? current.filter((x) => x !== s) : [...current, s]));
  };
  return (
    <>
      <form className="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <fieldset>
          <legend>Status</legend>
          {STATUSES.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" checked={statuses.includes(s)} onChange={() => toggle(s)} /> {s.replace('_', ' ')}
            </label>
          ))}
        </fieldset>
        <label>
          From{' '}
          <input
            type="datetime-local"
            value={from}
            onChange={(e) => {
              pager.reset();
              setFrom(e.target.value);
            }}
          />
        </label>
        <label>
          To{' '}
          <input
            type="datetime-local"
            value={to}
            onChange={(e) => {
              pager.reset();
              setTo(e.target.value);
            }}
          />
        </label>
      </form>
      <ErrorNote error={runs.error} />
      {runs.data ? <RunsTable runs={runs.data.items} showWorkflow={!workflowId} /> : <p role="status">Loading runs…</p>}
      <Pager pager={pager} nextCursor={runs.data?.nextCursor} label="Runs pages" />
    </>
  );
}

export function RunsPage() {
  return (
    <section>
      <h1>Runs</h1>
      <RunsList />
    </section>
  );
}
