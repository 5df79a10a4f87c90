import type { Action, CreateWorkflowInput, TriggerSpec } from '../api/types';

/**
 * The editor's form: every input as the text it holds, so a half-typed value is kept as
 * typed. `toDefinition` turns it into the API's JSON; `fromDefinition` back; the JSON view
 * edits the same definition. No rule lives here: values go to the API's schema as typed.
 */
export interface WorkflowForm {
  workflowId: string;
  name: string;
  enabled: boolean;
  /** `catchUp`: empty leaves it to the API's default (`none`). */
  trigger: { type: TriggerSpec['type']; interval: string; cron: string; timezone: string; catchUp: '' | 'none' | 'latest' };
  actions: ActionForm[];
  retry: { maxRetries: string; baseDelayMs: string; maxDelayMs: string };
}

export type ActionForm = LogForm | HttpForm | FilterForm | DelayForm;
/** What every action form holds besides its own inputs. */
interface ActionFormBase {
  /** Stable identity for the list while actions are added, removed and moved. */
  key: string;
  /** The action's fields the form has no input for (step settings such as `retry`, `if`): kept as they are, edited in the JSON view. */
  extra?: Record<string, unknown>;
}
export interface LogForm extends ActionFormBase {
  type: 'log';
  message: string;
  level: '' | 'debug' | 'info' | 'warn' | 'error';
}
export interface HttpForm extends ActionFormBase {
  type: 'http-request';
  method: string;
  url: string;
  headers: { name: string; value: string }[];
  /** JSON text; empty for no body. */
  body: string;
  timeoutMs: string;
}

export interface FilterForm extends ActionFormBase {
  type: 'filter';
  /** The condition as JSON text (JSONLogic). */
  when: string;
}

export interface DelayForm extends ActionFormBase {
  type: 'delay';
  /** `15m`, `2h`: empty when `until` is used. */
  duration: string;
  /** An ISO time or a template that becomes one. */
  until: string;
}

let keys = 0;
const nextKey = () => `a${++keys}`;

export const emptyLog = (): LogForm => ({ key: nextKey(), type: 'log', message: '', level: '' });
export const emptyDelay = (): DelayForm => ({ key: nextKey(), type: 'delay', duration: '', until: '' });
export const emptyFilter = (): FilterForm => ({ key: nextKey(), type: 'filter', when: '' });
export const emptyHttp = (): HttpForm => ({ key: nextKey(), type: 'http-request', method: 'GET', url: '', headers: [], body: '', timeoutMs: '' });

export const emptyForm = (): WorkflowForm => ({
  workflowId: '',
  name: '',
  enabled: true,
  trigger: { type: 'manual', interval: '', cron: '', timezone: '', catchUp: '' },
  actions: [emptyLog()],
  retry: { maxRetries: '', baseDelayMs: '', maxDelayMs: '' },
});

/** A number input's text: empty is absent; a number is a number; anything else goes as typed, for the schema to name. */
function numberOrText(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : trimmed;
}

const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;

export interface Conversion {
  /** The definition as the API receives it (possibly invalid: the schema judges it). */
  definition: Record<string, unknown>;
  /** What could not even be read (a body that is not JSON), by field path. */
  errors: Record<string, string>;
}

export function toDefinition(form: WorkflowForm): Conversion {
  const errors: Record<string, string> = {};
  const t = form.trigger;
  const catchUp = t.catchUp || undefined;
  const trigger =
    t.type === 'periodic'
      ? defined({ type: t.type, interval: t.interval.trim(), catchUp })
      : t.type === 'cron'
        ? defined({ type: t.type, cron: t.cron.trim(), timezone: t.timezone.trim() || undefined, catchUp })
        : { type: t.type };
  const json = (text: string, path: string): unknown => {
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      errors[path] = 'must be valid JSON';
      return undefined;
    }
  };
  const actions = form.actions.map((a, i) => {
    const extra = a.extra ?? {};
    if (a.type === 'log') return defined({ ...extra, type: a.type, message: a.message, level: a.level || undefined });
    if (a.type === 'filter') return defined({ ...extra, type: a.type, when: json(a.when, `actions.${i}.when`) });
    if (a.type === 'delay') return defined({ ...extra, type: a.type, duration: a.duration.trim() || undefined, until: a.until.trim() || undefined });
    let body: unknown;
    if (a.body.trim() !== '') {
      try {
        body = JSON.parse(a.body);
      } catch {
        errors[`actions.${i}.body`] = 'must be valid JSON';
      }
    }
    const headers = a.headers.length ? Object.fromEntries(a.headers.map((h) => [h.name, h.value])) : undefined;
    return defined({ ...extra, type: a.type, method: a.method, url: a.url.trim(), headers, body, timeoutMs: numberOrText(a.timeoutMs) });
  });
  const retryPolicy = defined({ maxRetries: numberOrText(form.retry.maxRetries), baseDelayMs: numberOrText(form.retry.baseDelayMs), maxDelayMs: numberOrText(form.retry.maxDelayMs) });
  return {
    definition: defined({
      workflowId: form.workflowId.trim(),
      name: form.name.trim() || undefined,
      enabled: form.enabled,
      trigger,
      actions,
      retryPolicy: Object.keys(retryPolicy).length ? retryPolicy : undefined,
    }),
    errors,
  };
}

/** A definition (from the API or the JSON view) as the form shows it. */
export function fromDefinition(def: Partial<CreateWorkflowInput> & { retryPolicy?: Partial<CreateWorkflowInput['retryPolicy']> }): WorkflowForm {
  const trigger = (def.trigger ?? { type: 'manual' }) as Partial<{ type: TriggerSpec['type']; interval: string; cron: string; timezone: string; catchUp: 'none' | 'latest' }>;
  const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  return {
    workflowId: text(def.workflowId),
    name: text(def.name),
    enabled: def.enabled ?? true,
    trigger: { type: trigger.type ?? 'manual', interval: text(trigger.interval), cron: text(trigger.cron), timezone: text(trigger.timezone), catchUp: trigger.catchUp ?? '' },
    actions: (def.actions ?? []).map((a: Action): ActionForm => {
      if (a.type === 'log') {
        const { type: _t, message, level, ...extra } = a;
        return withExtra({ key: nextKey(), type: 'log', message: text(message), level: level ?? '' }, extra);
      }
      if (a.type === 'filter') {
        const { type: _t, when, ...extra } = a;
        return withExtra({ key: nextKey(), type: 'filter', when: when === undefined ? '' : JSON.stringify(when, null, 2) }, extra);
      }
      if (a.type === 'delay') {
        const { type: _t, duration, until, ...extra } = a;
        return withExtra({ key: nextKey(), type: 'delay', duration: text(duration), until: text(until) }, extra);
      }
      const { type: _t, method, url, headers, body, timeoutMs, ...extra } = a;
      return withExtra(
        {
          key: nextKey(),
          type: 'http-request',
          method: text(method) || 'GET',
          url: text(url),
          headers: Object.entries(headers ?? {}).map(([name, value]) => ({ name, value: text(value) })),
          body: body === undefined ? '' : JSON.stringify(body, null, 2),
          timeoutMs: text(timeoutMs),
        },
        extra,
      );
    }),
    retry: { maxRetries: text(def.retryPolicy?.maxRetries), baseDelayMs: text(def.retryPolicy?.baseDelayMs), maxDelayMs: text(def.retryPolicy?.maxDelayMs) },
  };
}

const withExtra = <F extends ActionForm>(form: F, extra: Record<string, unknown>): F => (Object.keys(extra).length ? { ...form, extra } : form);

/** Moves the item at `from` to `to` (a new array). */
export function move<T>(items: readonly T[], from: number, to: number): T[] {
  if (to < 0 || to >= items.length) return [...items];
  const next = [...items];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item!);
  return next;
}
