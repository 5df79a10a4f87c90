import { Link } from 'react-router';
import type { RunSummary } from '../api/types';
import { formatDuration, formatTime, relativeTime } from '../lib/schedule';
import { StatusBadge, useNow } from './bits';

export function RunsTable({ runs, showWorkflow }: { runs: readonly RunSummary[]; showWorkflow: boolean }) {
  const now = useNow(5_000);
  if (runs.length === 0) return <p className="muted">No runs match.</p>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Run</th>
            {showWorkflow ? <th scope="col">Workflow</th> : null}
            <th scope="col">Status</th>
            <th scope="col">Attempt</th>
            <th scope="col" className="optional">
              Trigger
            </th>
            <th scope="col">Started</th>
            <th scope="col" className="optional">
              Duration
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.executionId}>
              <td>
                <Link to={`/runs/${r.executionId}`} className="mono">
                  {r.executionId.slice(0, 8)}
                </Link>
              </td>
              {showWorkflow ? (
                <td>
                  <Link to={`/flows/${encodeURIComponent(r.workflowId)}`}>{r.workflowId}</Link>
                </td>
              ) : null}
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>{r.attempt}</td>
              <td className="optional">{r.trigger.type}</td>
              <td title={formatTime(r.createdAt)}>{relativeTime(new Date(r.createdAt), now)}</td>
              <td className="optional">{r.finishedAt ? formatDuration(new Date(r.finishedAt).getTime() - new Date(r.startedAt ?? r.createdAt).getTime()) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
