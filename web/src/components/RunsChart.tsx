import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ExecutionStatus, WindowStats } from '../api/types';

/** Series stacked bottom to top, with their colours (as in the badges). */
const SERIES: { status: ExecutionStatus; label: string; color: string }[] = [
  { status: 'completed', label: 'completed', color: '#1b7f3b' },
  { status: 'failed', label: 'failed', color: '#b42318' },
  { status: 'cancelled', label: 'cancelled', color: '#4b5563' },
  { status: 'pending_retry', label: 'waiting for retry', color: '#b35c00' },
  { status: 'waiting', label: 'waiting (delay)', color: '#6941c6' },
  { status: 'running', label: 'running', color: '#1f4fd1' },
  { status: 'queued', label: 'queued', color: '#6b7280' },
];

/** Every bucket of the window (empty ones as 0), and per series the stacked totals. */
export function stackedSeries(stats: WindowStats): { x: number[]; stacks: number[][] } {
  const from = new Date(stats.from).getTime();
  const count = Math.round((new Date(stats.to).getTime() - from) / stats.bucketMs);
  const byStart = new Map(stats.buckets.map((b) => [new Date(b.start).getTime(), b.counts]));
  const x = Array.from({ length: count }, (_, i) => (from + i * stats.bucketMs) / 1000);
  let below = x.map(() => 0);
  const stacks = SERIES.map(({ status }) => {
    below = x.map((t, i) => below[i]! + (byStart.get(t * 1000)?.[status] ?? 0));
    return below;
  });
  return { x, stacks };
}

/** Runs per bucket, stacked by outcome: a bar chart drawn by uPlot on a canvas. */
export function RunsChart({ stats, title }: { stats: WindowStats; title: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const { x, stacks } = stackedSeries(stats);
    const bars = uPlot.paths.bars!({ size: [0.8, 24] });
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{}, { label: 'runs', size: 50 }],
        // Drawn top of the stack first, so each lower series paints over the part it owns.
        series: [{}, ...SERIES.map((s) => ({ label: s.label, fill: s.color, stroke: s.color, paths: bars, points: { show: false } })).reverse()],
      },
      [x, ...[...stacks].reverse()],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [stats]);
  const total = Object.values(stats.totals).reduce((a, b) => a + b, 0);
  return (
    <figure className="chart">
      <div ref={box} role="img" aria-label={`${title}: ${total} runs, ${stats.totals.completed} completed, ${stats.totals.failed} failed`} />
      <figcaption>{title}</figcaption>
    </figure>
  );
}
