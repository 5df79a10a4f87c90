import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, call } from '../api/http';
import { keys, useOpenApi, useWorkflow } from '../api/queries';
import { defaultAt, enumAt, serverFieldErrors, validatorFor, variantsAt, type FieldErrors } from '../api/schema';
import type { Workflow } from '../api/types';
import { ErrorNote } from '../components/bits';
import { emptyDelay, emptyFilter, emptyForm, emptyHttp, emptyLog, fromDefinition, move, toDefinition, type ActionForm, type HttpForm, type WorkflowForm } from '../lib/definition';
import { placeholdersFor } from '../lib/placeholders';

/** An input with its label, its hint and the error of its field (from the schema as you type, or the server's 400). */
function Field({ id, label, error, hint, children }: { id: string; label: string; error: string | undefined; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className={`field ${error ? 'invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {label}: {error}
        </p>
      ) : null}
    </div>
  );
}

/** aria attributes tying an input to its hint and error. */
const described = (id: string, error: string | undefined, hint = false) => ({
  id,
  'aria-invalid': error ? true : undefined,
  'aria-describedby': [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined,
});

function Placeholders({ actions, index }: { actions: readonly ActionForm[]; index: number }) {
  return (
    <>
      Placeholders: {placeholdersFor(actions, index).map((p, i) => (
        <code key={p}>
          {i > 0 ? ' ' : ''}
          {p}
        </code>
      ))}
    </>
  );
}

interface EditorProps {
  existing: Workflow | undefined;
  openApi: unknown;
}

function Editor({ existing, openApi }: EditorProps) {
  const navigate = useNavigate();
  const client = useQueryClient();
  const schemaName = existing ? 'ReplaceWorkflow' : 'CreateWorkflow';
  const validate = useMemo(() => validatorFor(openApi, schemaName), [openApi, schemaName]);
  const [form, setForm] = useState<WorkflowForm>(() => (existing ? fromDefinition(existing as never) : emptyForm()));
  const [view, setView] = useState<'form' | 'json'>('form');
  const [jsonText, setJsonText] = useState('');
  const [jsonError, setJsonError] = useState<string | undefined>();
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  const conversion = useMemo(() => toDefinition(form), [form]);
  const schemaErrors = useMemo(() => ({ ...validate(conversion.definition), ...conversion.errors }), [validate, conversion]);
  const shown = (path: string): string | undefined => serverErrors[path] ?? (submitted || touched.has(path) ? schemaErrors[path] : undefined);
  const invalid = Object.keys(schemaErrors).length > 0;

  /** Applies a change to the form, marking the field it touched. */
  const update = (path: string, change: (f: WorkflowForm) => WorkflowForm) => {
    setForm((f) => change(f));
    setTouched((t) => new Set(t).add(path));
    setServerErrors({});
  };
  const updateAction = (i: number, path: string, change: (a: ActionForm) => ActionForm) =>
    update(`actions.${i}.${path}`, (f) => ({ ...f, actions: f.actions.map((a, j) => (j === i ? change(a) : a)) }));
  const updateHttp = (i: number, path: string, change: (a: HttpForm) => HttpForm) => updateAction(i, path, (a) => (a.type === 'http-request' ? change(a) : a));

  const showJson = () => {
    setJsonText(JSON.stringify(conversion.definition, null, 2));
    setJsonError(undefined);
    setView('json');
  };
  const editJson = (text: string) => {
    setJsonText(text);
    setServerErrors({});
    try {
      const parsed: unknown = JSON.parse(text);
      setJsonError(undefined);
      setForm(fromDefinition(parsed as never));
      setSubmitted(true); // in the JSON view every field is in sight
    } catch {
      setJsonError('is not valid JSON');
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    setFailure(null);
    if (invalid || jsonError) return;
    setSaving(true);
    try {
      const path = existing ? `/workflows/${encodeURIComponent(existing.workflowId)}` : '/workflows';
      const saved = await call<Workflow>(existing ? 'PUT' : 'POST', path, {
        body: conversion.definition,
        ...(existing ? { headers: { 'if-match': String(existing.version) } } : {}),
      });
      await client.invalidateQueries({ queryKey: keys.workflows });
      navigate(`/flows/${encodeURIComponent(saved.workflowId)}`, { state: saved.hook?.secret ? { hookSecret: saved.hook.secret } : null });
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) setServerErrors(serverFieldErrors(err.details));
      setFailure(
        err instanceof ApiError && err.code === 'version_conflict'
          ? new Error('Someone changed this workflow since you opened it. Reload to see their version.')
          : err instanceof ApiError && err.status === 400
            ? new Error('The API refused the workflow: see the fields marked in red.')
            : err,
      );
    } finally {
      setSaving(false);
    }
  };

  const triggerTypes = variantsAt(openApi, schemaName, ['trigger']);
  const methods = enumAt(openApi, schemaName, ['actions', 'type=http-request', 'method']);
  const levels = enumAt(openApi, schemaName, ['actions', 'type=log', 'level']);
  const actionTypes = variantsAt(openApi, schemaName, ['actions']);
  const retryDefault = (field: string) => defaultAt(openApi, schemaName, ['retryPolicy', field]);
  const count = Object.keys(schemaErrors).length;

  return (
    <form onSubmit={(e) => void save(e)} noValidate aria-label={existing ? `Edit ${existing.workflowId}` : 'New workflow'}>
      <div className="tabs" role="group" aria-label="Editor view">
        <button type="button" aria-pressed={view === 'form'} className={view === 'form' ? 'active' : 'secondary'} onClick={() => setView('form')}>
          Form
        </button>
        <button type="button" aria-pressed={view === 'json'} className={view === 'json' ? 'active' : 'secondary'} onClick={showJson}>
          JSON
        </button>
      </div>

      {view === 'json' ? (
        <Field id="definition-json" label="Definition (JSON)" error={jsonError ?? shown('') ?? shown('(root)')}>
          <textarea {...described('definition-json', jsonError)} className="mono" rows={24} value={jsonText} onChange={(e) => editJson(e.target.value)} spellCheck={false} />
          {Object.entries(schemaErrors).length > 0 && !jsonError ? (
            <ul className="field-error" aria-label="Problems">
              {Object.entries({ ...schemaErrors, ...serverErrors }).map(([path, message]) => (
                <li key={path}>
                  <code>{path || '(root)'}</code>: {message}
                </li>
              ))}
            </ul>
          ) : null}
        </Field>
      ) : (
        <>
          <fieldset>
            <legend>Workflow</legend>
            <Field id="workflowId" label="Id" error={shown('workflowId')} hint={existing ? 'The id cannot change.' : 'Letters, digits, - and _; unique among your workflows.'}>
              <input {...described('workflowId', shown('workflowId'), true)} value={form.workflowId} readOnly={Boolean(existing)} onChange={(e) => update('workflowId', (f) => ({ ...f, workflowId: e.target.value }))} />
            </Field>
            <Field id="name" label="Name" error={shown('name')}>
              <input {...described('name', shown('name'))} value={form.name} onChange={(e) => update('name', (f) => ({ ...f, name: e.target.value }))} />
            </Field>
            <label className="check">
              <input type="checkbox" checked={form.enabled} onChange={(e) => update('enabled', (f) => ({ ...f, enabled: e.target.checked }))} /> Enabled
            </label>
          </fieldset>

          <fieldset>
            <legend>Trigger</legend>
            <Field id="trigger-type" label="Type" error={shown('trigger.type')}>
              <select {...described('trigger-type', shown('trigger.type'))} value={form.trigger.type} onChange={(e) => update('trigger.type', (f) => ({ ...f, trigger: { ...f.trigger, type: e.target.value as WorkflowForm['trigger']['type'] } }))}>
                {triggerTypes.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </Field>
            {form.trigger.type === 'periodic' ? (
              <Field id="trigger-interval" label="Every" error={shown('trigger.interval')} hint='A number and s, m or h: "10s", "5m", "1h".'>
                <input {...described('trigger-interval', shown('trigger.interval'), true)} value={form.trigger.interval} onChange={(e) => update('trigger.interval', (f) => ({ ...f, trigger: { ...f.trigger, interval: e.target.value } }))} />
              </Field>
            ) : null}
            {form.trigger.type === 'cron' ? (
              <>
                <Field id="trigger-cron" label="Cron expression" error={shown('trigger.cron')} hint='Five fields, e.g. "*/5 * * * *".'>
                  <input {...described('trigger-cron', shown('trigger.cron'), true)} className="mono" value={form.trigger.cron} onChange={(e) => update('trigger.cron', (f) => ({ ...f, trigger: { ...f.trigger, cron: e.target.value } }))} />
                </Field>
                <Field id="trigger-timezone" label="Time zone" error={shown('trigger.timezone')} hint="An IANA name such as Europe/Paris; UTC when empty.">
                  <input {...described('trigger-timezone', shown('trigger.timezone'), true)} value={form.trigger.timezone} onChange={(e) => update('trigger.timezone', (f) => ({ ...f, trigger: { ...f.trigger, timezone: e.target.value } }))} />
                </Field>
              </>
            ) : null}
            {form.trigger.type === 'periodic' || form.trigger.type === 'cron' ? (
              <Field id="trigger-catchup" label="Missed runs" error={shown('trigger.catchUp')} hint="Due times that passed while the system was down: skipped, or the most recent of them run once.">
                <select
                  {...described('trigger-catchup', shown('trigger.catchUp'), true)}
                  value={form.trigger.catchUp || 'none'}
                  onChange={(e) => update('trigger.catchUp', (f) => ({ ...f, trigger: { ...f.trigger, catchUp: e.target.value as 'none' | 'latest' } }))}
                >
                  <option value="none">skip them</option>
                  <option value="latest">run the latest once</option>
                </select>
              </Field>
            ) : null}
          </fieldset>

          <fieldset>
            <legend>Actions, in order</legend>
            {shown('actions') ? <p className="field-error">Actions: {shown('actions')}</p> : null}
            <ol className="actions-list">
              {form.actions.map((a, i) => {
                const p = (field: string) => `actions.${i}.${field}`;
                const id = (field: string) => `action-${i}-${field}`;
                return (
                  <li key={a.key} className="card">
                    <div className="action-head">
                      <h3>Action {i + 1}</h3>
                      <span>
                        <button type="button" className="secondary" onClick={() => update('actions', (f) => ({ ...f, actions: move(f.actions, i, i - 1) }))} disabled={i === 0} aria-label={`Move action ${i + 1} up`}>
                          ↑
                        </button>{' '}
                        <button type="button" className="secondary" onClick={() => update('actions', (f) => ({ ...f, actions: move(f.actions, i, i + 1) }))} disabled={i === form.actions.length - 1} aria-label={`Move action ${i + 1} down`}>
                          ↓
                        </button>{' '}
                        <button type="button" className="secondary" onClick={() => update('actions', (f) => ({ ...f, actions: f.actions.filter((_, j) => j !== i) }))} aria-label={`Remove action ${i + 1}`}>
                          Remove
                        </button>
                      </span>
                    </div>
                    <Field id={id('type')} label="Type" error={shown(p('type'))}>
                      <select {...described(id('type'), shown(p('type')))} value={a.type} onChange={(e) => updateAction(i, 'type', () => ({ ...(e.target.value === 'log' ? emptyLog() : e.target.value === 'filter' ? emptyFilter() : e.target.value === 'delay' ? emptyDelay() : emptyHttp()), key: a.key }))}>
                        {actionTypes.map((t) => (
                          <option key={t} value={t}>
                            {t}
                          </option>
                        ))}
                      </select>
                    </Field>
                    {a.type === 'log' ? (
                      <>
                        <Field id={id('message')} label="Message" error={shown(p('message'))} hint={<Placeholders actions={form.actions} index={i} />}>
                          <textarea {...described(id('message'), shown(p('message')), true)} rows={2} value={a.message} onChange={(e) => updateAction(i, 'message', (x) => ({ ...x, message: e.target.value }))} />
                        </Field>
                        <Field id={id('level')} label="Level" error={shown(p('level'))}>
                          <select {...described(id('level'), shown(p('level')))} value={a.level} onChange={(e) => updateAction(i, 'level', (x) => ({ ...x, level: e.target.value as never }))}>
                            <option value="">default (info)</option>
                            {levels.map((l) => (
                              <option key={l} value={l}>
                                {l}
                              </option>
                            ))}
                          </select>
                        </Field>
                      </>
                    ) : a.type === 'delay' ? (
                      <div className="row">
                        <Field id={id('duration')} label="Wait for (e.g. 15m, 2h, 1d)" error={shown(p('duration')) ?? shown(`actions.${i}`)}>
                          <input {...described(id('duration'), shown(p('duration')))} value={a.duration} onChange={(e) => updateAction(i, 'duration', (x) => (x.type === 'delay' ? { ...x, duration: e.target.value } : x))} />
                        </Field>
                        <Field id={id('until')} label="Or until (ISO time or template)" error={shown(p('until'))} hint={<Placeholders actions={form.actions} index={i} />}>
                          <input {...described(id('until'), shown(p('until')), true)} className="mono" value={a.until} onChange={(e) => updateAction(i, 'until', (x) => (x.type === 'delay' ? { ...x, until: e.target.value } : x))} />
                        </Field>
                      </div>
                    ) : a.type === 'filter' ? (
                      <Field id={id('when')} label="Go on only when (JSONLogic condition)" error={shown(p('when'))} hint={<span className="muted">e.g. {'{"==": [{"var": "trigger.payload.kind"}, "order"]}'}</span>}>
                        <textarea
                          {...described(id('when'), shown(p('when')), true)}
                          className="mono"
                          rows={3}
                          value={a.when}
                          onChange={(e) => updateAction(i, 'when', (x) => (x.type === 'filter' ? { ...x, when: e.target.value } : x))}
                        />
                      </Field>
                    ) : (
                      <>
                        <div className="row">
                          <Field id={id('method')} label="Method" error={shown(p('method'))}>
                            <select {...described(id('method'), shown(p('method')))} value={a.method} onChange={(e) => updateHttp(i, 'method', (x) => ({ ...x, method: e.target.value }))}>
                              {methods.map((m) => (
                                <option key={m}>{m}</option>
                              ))}
                            </select>
                          </Field>
                          <Field id={id('url')} label="URL" error={shown(p('url'))} hint={<Placeholders actions={form.actions} index={i} />}>
                            <input {...described(id('url'), shown(p('url')), true)} className="mono" value={a.url} onChange={(e) => updateHttp(i, 'url', (x) => ({ ...x, url: e.target.value }))} />
                          </Field>
                        </div>
                        <fieldset>
                          <legend>Headers</legend>
                          {a.headers.map((h, k) => (
                            <div className="row" key={k}>
                              <Field id={id(`header-${k}-name`)} label={`Header ${k + 1} name`} error={shown(p(`headers.${h.name}`)) ?? shown(p('headers'))}>
                                <input {...described(id(`header-${k}-name`), undefined)} value={h.name} onChange={(e) => updateHttp(i, 'headers', (x) => ({ ...x, headers: x.headers.map((y, j) => (j === k ? { ...y, name: e.target.value } : y)) }))} />
                              </Field>
                              <Field id={id(`header-${k}-value`)} label={`Header ${k + 1} value`} error={undefined}>
                                <input {...described(id(`header-${k}-value`), undefined)} value={h.value} onChange={(e) => updateHttp(i, 'headers', (x) => ({ ...x, headers: x.headers.map((y, j) => (j === k ? { ...y, value: e.target.value } : y)) }))} />
                              </Field>
                              <button type="button" className="secondary" onClick={() => updateHttp(i, 'headers', (x) => ({ ...x, headers: x.headers.filter((_, j) => j !== k) }))} aria-label={`Remove header ${k + 1}`}>
                                Remove
                              </button>
                            </div>
                          ))}
                          <button type="button" className="secondary" onClick={() => updateHttp(i, 'headers', (x) => ({ ...x, headers: [...x.headers, { name: '', value: '' }] }))}>
                            Add a header
                          </button>
                        </fieldset>
                        <Field id={id('body')} label="Body (JSON, optional)" error={shown(p('body'))} hint={<Placeholders actions={form.actions} index={i} />}>
                          <textarea {...described(id('body'), shown(p('body')), true)} className="mono" rows={3} value={a.body} onChange={(e) => updateHttp(i, 'body', (x) => ({ ...x, body: e.target.value }))} />
                        </Field>
                        <Field id={id('timeoutMs')} label="Timeout (ms, optional)" error={shown(p('timeoutMs'))}>
                          <input {...described(id('timeoutMs'), shown(p('timeoutMs')))} inputMode="numeric" value={a.timeoutMs} onChange={(e) => updateHttp(i, 'timeoutMs', (x) => ({ ...x, timeoutMs: e.target.value }))} />
                        </Field>
                      </>
                    )}
                  </li>
                );
              })}
            </ol>
            <button type="button" className="secondary" onClick={() => update('actions', (f) => ({ ...f, actions: [...f.actions, emptyLog()] }))}>
              Add a log action
            </button>{' '}
            <button type="button" className="secondary" onClick={() => update('actions', (f) => ({ ...f, actions: [...f.actions, emptyHttp()] }))}>
              Add an HTTP request
            </button>
          </fieldset>

          <fieldset>
            <legend>Retries</legend>
            <div className="row">
              {(
                [
                  ['maxRetries', 'Retries at most'],
                  ['baseDelayMs', 'First delay (ms)'],
                  ['maxDelayMs', 'Longest delay (ms)'],
                ] as const
              ).map(([field, label]) => (
                <Field key={field} id={`retry-${field}`} label={label} error={shown(`retryPolicy.${field}`)}>
                  <input
                    {...described(`retry-${field}`, shown(`retryPolicy.${field}`))}
                    inputMode="numeric"
                    placeholder={retryDefault(field)}
                    value={form.retry[field]}
                    onChange={(e) => update(`retryPolicy.${field}`, (f) => ({ ...f, retry: { ...f.retry, [field]: e.target.value } }))}
                  />
                </Field>
              ))}
            </div>
          </fieldset>
        </>
      )}

      <ErrorNote error={failure} />
      {submitted && (invalid || jsonError) ? (
        <p className="error" role="alert">
          {jsonError ? 'The JSON cannot be read.' : `${count} ${count === 1 ? 'field needs' : 'fields need'} attention; nothing was saved.`}
        </p>
      ) : null}
      <div className="buttons">
        <button type="submit" disabled={saving}>
          {existing ? 'Save changes' : 'Create workflow'}
        </button>{' '}
        <Link to={existing ? `/flows/${encodeURIComponent(existing.workflowId)}` : '/flows'}>Cancel</Link>
      </div>
    </form>
  );
}

export function WorkflowEditPage() {
  const { workflowId } = useParams();
  const openApi = useOpenApi();
  const existing = useWorkflow(workflowId ?? '', workflowId !== undefined);
  useEffect(() => {
    document.title = workflowId ? `Edit ${workflowId}` : 'New workflow';
  }, [workflowId]);
  const error = openApi.error ?? (workflowId ? existing.error : null);
  const ready = openApi.data && (!workflowId || existing.data);
  return (
    <section>
      <p className="crumbs">
        <Link to="/flows">Workflows</Link> / {workflowId ? <Link to={`/flows/${encodeURIComponent(workflowId)}`}>{workflowId}</Link> : 'new'}
      </p>
      <h1>{workflowId ? `Edit ${workflowId}` : 'New workflow'}</h1>
      <ErrorNote error={error} />
      {ready ? <Editor existing={workflowId ? existing.data : undefined} openApi={openApi.data} /> : error ? null : <p role="status">Loading…</p>}
    </section>
  );
}
