import type { RetryPolicy } from './workflow.js';

/**
 * Delay before the retry that follows a failed `attempt` (1-based): exponential from
 * `baseDelayMs`, capped at `maxDelayMs`, with "equal jitter" so retries of many runs that
 * failed together spread out while none comes back sooner than half the nominal delay.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const nominal = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(exponent, 52));
  const half = nominal / 2;
  return Math.round(half + random() * half);
}
