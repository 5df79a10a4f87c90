/**
 * `{{path.to.value}}` placeholders in action fields, resolved against what the run knows:
 * `trigger.payload.*`, `trigger.type`, `steps.N.output.*`, `execution.id`, `workflow.id`,
 * `secrets.NAME`.
 * Only dotted paths with numeric indexes: no expressions, no code. A path that resolves to
 * nothing fails the step (sending "undefined" to an API is never what anyone meant).
 */
export interface TemplateContext {
  trigger: { type: string; payload?: unknown };
  steps: { output?: unknown; status: string }[];
  execution: { id: string; attempt: number };
  workflow: { id: string };
  /** The secrets the action refers to, opened for the moment it runs (runner only; never in a condition). */
  secrets?: Record<string, string>;
}

export class TemplateError extends Error {}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}$/;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

export function lookup(context: TemplateContext, path: string): unknown {
  let current: unknown = context;
  for (const segment of path.split('.')) {
    if (FORBIDDEN_SEGMENTS.has(segment)) throw new TemplateError(`placeholder {{${path}}} uses a forbidden name "${segment}"`);
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) {
      throw new TemplateError(`placeholder {{${path}}} has no value`);
    }
    current = (current as Record<string, unknown>)[segment];
  }
  if (current === undefined) throw new TemplateError(`placeholder {{${path}}} has no value`);
  return current;
}

const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Replaces placeholders in a string; every placeholder becomes text. */
export function renderString(template: string, context: TemplateContext): string {
  return template.replace(PLACEHOLDER, (_, path: string) => asText(lookup(context, path)));
}

/**
 * Renders every string inside a JSON value. A string that is exactly one placeholder keeps
 * the value's JSON type (`"{{trigger.payload.count}}"` → 3), others become text.
 */
export function renderValue(value: unknown, context: TemplateContext): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    return whole ? lookup(context, whole[1] as string) : renderString(value, context);
  }
  if (Array.isArray(value)) return value.map((v) => renderValue(v, context));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, context)]));
  }
  return value;
}
