import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { call } from '../api/http';
import { keys, useRecentRuns, useWorkflows } from '../api/queries';
import type { Workflow } from '../api/types';
import { ErrorNote, OutcomeStrip, Pager, StatusBadge, TriggerStatusBadge, useNow, usePager } from '../components/bits';
import { describeTrigger, formatTime, relativeTime } from '../lib/schedule';

const PAGE_SIZE = 50;

/** `value` once it has stopped changing for `ms`: one search per pause in typing, not per key. */
function useDebounced(value: string, ms: number): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

function EnabledSwitch({ workflow }: { workflow: Workflow }) {
  const client = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const toggle = async () => {
    setError(null);
    try {
      await call('PATCH', `/workflows/${encodeURIComponent(workflow.workflowId)}`, { body: { enabled: !workflow.enabled }, headers: { 'if-match': String(workflow.version) } });
      await client.invalidateQueries({ queryKey: keys.workflows });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <button type="button" role="switch" aria-checked={workflow.enabled} className={`switch ${workflow.enabled ? 'on' : ''}`} onClick={() => void toggle()}>
        <span className="sr-only">Enabled: {workflow.workflowId}</span>
        <span aria-hidden="true">{workflow.enabled ? 'On' : 'Off'}</span>
      </button>
      <ErrorNote error={error} />
    </>
  );
}

export function WorkflowsPage() {
  const pager = usePager();
  const [search, setSearch] = useState('');
  const prefix = useDebounced(search.trim(), 250);
  const workflows = useWorkflows(prefix, pager.cursor, PAGE_SIZE);
  const items = workflows.data?.items ?? [];
  const recent = useRecentRuns(items.map((w) => w.workflowId));
  const now = useNow(5_000);

  return (
    <section>
      <div className="heading">
        <h1>Workflows</h1>
        <Link className="button" to="/flows/new">
          New workflow
        </Link>
      </div>
      <label className="search">
        Find by id{' '}
        <input
          type="search"
          value={search}
          onChange={(e) => {
            pager.reset();
            setSearch(e.target.value);
          }}
          placeholder="starts with…"
        />
      </label>
      <ErrorNote error={workflows.error} />
      {!workflows.data ? <p role="status">Loading workflows…</p> : null}
      {workflows.data && items.length === 0 && !prefix ? (
        <p>
          No workflows yet. <Link to="/flows/new">Create the first one</Link>.
        </p>
      ) : null}
      {workflows.data && items.length === 0 && prefix ? <p>No workflow id starts with “{prefix}”.</p> : null}
      {items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Workflow</th>
                <th scope="col">Trigger</th>
                <th scope="col">Enabled</th>
                <th scope="col">Status</th>
                <th scope="col">Last run</th>
                <th scope="col" className="optional">
                  Next run
                </th>
                <th scope="col" className="optional">
                  Last 20 runs
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((w) => {
                const runs = recent.data?.items[w.workflowId] ?? [];
                const last = runs[0];
                return (
                  <tr key={w.workflowId}>
                    <td>
                      <Link to={`/flows/${encodeURIComponent(w.workflowId)}`}>{w.workflowId}</Link>
                      {w.name !== w.workflowId ? <div className="muted">{w.name}</div> : null}
                    </td>
                    <td>{describeTrigger(w.trigger)}</td>
                    <td>
                      <EnabledSwitch workflow={w} />
                    </td>
                    <td>
                      <TriggerStatusBadge status={w.trigger.status} />
                    </td>
                    <td>
                      {last ? (
                        <>
                          <StatusBadge status={last.status} /> <span title={formatTime(last.createdAt)}>{relativeTime(new Date(last.createdAt), now)}</span>
                        </>
                      ) : (
                        <span className="muted">never</span>
                      )}
                    </td>
                    <td className="optional">{w.trigger.nextRunAt ? <span title={formatTime(w.trigger.nextRunAt)}>{relativeTime(new Date(w.trigger.nextRunAt), now)}</span> : '—'}</td>
                    <td className="optional">
                      <OutcomeStrip runs={runs} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager pager={pager} nextCursor={workflows.data?.nextCursor} label="Workflow pages" />
    </section>
  );
}
