// Small numeric helpers: percentiles, rounding, a least-squares line.

/** Percentile of a sample, nearest-rank; NaN for an empty sample. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (v, digits = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v);

/** p50 / p99 / max / mean of a latency sample (ms), rounded for the report. */
export function summarize(values, digits = 1) {
  if (values.length === 0) return { n: 0, p50: null, p99: null, max: null, mean: null };
  const sorted = Float64Array.from(values).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    p50: round(at(50), digits),
    p90: round(at(90), digits),
    p99: round(at(99), digits),
    max: round(sorted[sorted.length - 1], digits),
    mean: round(sum / sorted.length, digits),
  };
}

/** Least-squares fit y = slope * x + intercept, with r². */
export function linearFit(xs, ys) {
  const n = xs.length;
  if (n < 2) return { slope: NaN, intercept: NaN, r2: NaN };
  let sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]; sy += ys[i]; sxx += xs[i] * xs[i]; sxy += xs[i] * ys[i]; syy += ys[i] * ys[i];
  }
  const den = n * sxx - sx * sx;
  const slope = den === 0 ? NaN : (n * sxy - sx * sy) / den;
  const intercept = (sy - slope * sx) / n;
  const r = (n * sxy - sx * sy) / Math.sqrt(den * (n * syy - sy * sy));
  return { slope, intercept, r2: Number.isFinite(r) ? r * r : NaN };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
