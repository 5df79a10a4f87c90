import type { Step } from '../domain/execution.js';

/** How much of one step every store keeps as it is: 64 KiB of output (as JSON, UTF-8), and as much error text. */
export const DEFAULT_MAX_STEP_OUTPUT_BYTES = 64 * 1024;

export interface StepBoundOptions {
  /**
   * Largest step output a store keeps whole, in UTF-8 bytes of its JSON text; a larger one is
   * stored as a `TruncatedOutput`. Default `DEFAULT_MAX_STEP_OUTPUT_BYTES`.
   */
  maxStepOutputBytes?: number;
}

/** What a store keeps in place of a step output over the bound. */
export interface TruncatedOutput {
  truncated: true;
  /** Size of the whole output's JSON text, in UTF-8 bytes. */
  bytes: number;
  /** The beginning of that text, cut at a character boundary. */
  preview: string;
}

const encoder = new TextEncoder();

/** The longest prefix of `text` whose UTF-8 encoding fits in `maxBytes` (never half a character). */
function utf8Prefix(text: string, maxBytes: number): string {
  const { read } = encoder.encodeInto(text, new Uint8Array(maxBytes));
  return text.slice(0, read);
}

const TRUNCATED_SUFFIX = '… (truncated)';

/** An error message as a store keeps it: cut to `maxBytes` (UTF-8), saying so. */
export function boundError(error: string, maxBytes: number): string {
  if (Buffer.byteLength(error, 'utf8') <= maxBytes) return error;
  return utf8Prefix(error, maxBytes - Buffer.byteLength(TRUNCATED_SUFFIX, 'utf8')) + TRUNCATED_SUFFIX;
}

/**
 * The step as a store keeps it. An output whose JSON text passes `maxBytes` becomes a
 * `TruncatedOutput` (its preview takes at most half the bound: JSON escaping at most doubles
 * it, so the marker stays within the bound); an error message past the bound is cut (`boundError`). With at
 * most MAX_ACTIONS steps, this bounds an execution's size on every store: a MongoDB document
 * must stay under 16 MiB, and a write past it would be refused on every retry.
 */
export function boundStep(step: Step, maxBytes: number): Step {
  let bounded = step;
  const json = step.output === undefined ? undefined : JSON.stringify(step.output);
  const bytes = json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
  if (json !== undefined && bytes > maxBytes) {
    const output: TruncatedOutput = { truncated: true, bytes, preview: utf8Prefix(json, Math.floor(maxBytes / 2)) };
    bounded = { ...bounded, output };
  }
  if (step.error !== undefined) {
    const error = boundError(step.error, maxBytes);
    if (error !== step.error) bounded = { ...bounded, error };
  }
  return bounded;
}
