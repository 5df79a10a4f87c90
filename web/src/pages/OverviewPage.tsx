import { useState } from 'react';
import { Link } from 'react-router';
import { useStats } from '../api/queries';
import type { WindowStats } from '../api/types';
import { ErrorNote } from '../components/bits';
import { RunsChart } from '../components/RunsChart';
import { formatDuration } from '../lib/schedule';

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(rate < 0.1 ? 1 : 0)} %`);

function Figures({ stats, waitingForRetry }: { stats: WindowStats; waitingForRetry: number }) {
  const total = Object.values(stats.totals).reduce((a, b) => a + b, 0);
  return (
    <dl className="figures">
      <div>
        <dt>Runs</dt>
        <dd>{total}</dd>
      </div>
      <div>
        <dt>Failure rate</dt>
        <dd>{percent(stats.failureRate)}</dd>
      </div>
      <div>
        <dt>Duration p50</dt>
        <dd>{stats.durationMs ? formatDuration(stats.durationMs.p50) : '—'}</dd>
      </div>
      <div>
        <dt>Duration p95</dt>
        <dd>{stats.durationMs ? formatDuration(stats.durationMs.p95) : '—'}</dd>
      </div>
      <div>
        <dt>Waiting for retry</dt>
        <dd>{waitingForRetry}</dd>
      </div>
    </dl>
  );
}

function Ranking({ title, rows }: { title: string; rows: { workflowId: string; value: string }[] }) {
  return (
    <section className="card">
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ol>
          {rows.map((r) => (
            <li key={r.workflowId}>
              <Link to={`/flows/${encodeURIComponent(r.workflowId)}`}>{r.workflowId}</Link> <span className="muted">{r.value}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function OverviewPage() {
  const stats = useStats();
  const [span, setSpan] = useState<'hour' | 'day'>('hour');
  if (stats.error) return <ErrorNote error={stats.error} />;
  if (!stats.data) return <p role="status">Loading the overview…</p>;
  const w = stats.data[span];
  return (
    <section>
      <div className="heading">
        <h1>Overview</h1>
        <div className="tabs" role="group" aria-label="Time window">
          <button type="button" aria-pressed={span === 'hour'} className={span === 'hour' ? 'active' : 'secondary'} onClick={() => setSpan('hour')}>
            Last hour
          </button>
          <button type="button" aria-pressed={span === 'day'} className={span === 'day' ? 'active' : 'secondary'} onClick={() => setSpan('day')}>
            Last day
          </button>
        </div>
      </div>
      <Figures stats={w} waitingForRetry={stats.data.waitingForRetry} />
      <RunsChart stats={w} title={span === 'hour' ? 'Runs per minute, last hour, by outcome' : 'Runs per 15 minutes, last day, by outcome'} />
      <div className="columns">
        <Ranking title="Busiest workflows" rows={w.busiest.map((b) => ({ workflowId: b.workflowId, value: `${b.runs} runs` }))} />
        <Ranking title="Most failing workflows" rows={w.mostFailing.map((b) => ({ workflowId: b.workflowId, value: `${b.failed} failed of ${b.runs}` }))} />
      </div>
    </section>
  );
}
