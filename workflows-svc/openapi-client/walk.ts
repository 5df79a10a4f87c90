/**
 * A client written only against the TypeScript types that `openapi-typescript` generates
 * from the OpenAPI document (`../dist/openapi/schema.d.ts`, made by `npm run openapi:check`,
 * never committed). Type-checking it proves a generated client can sign up, create a
 * workflow, trigger it and read the run: if the document lost a field this script uses,
 * or described a body differently, the check fails.
 */
import type { paths } from '../dist/openapi/schema.js';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type Op<P extends keyof paths, M extends keyof paths[P]> = paths[P][M];
type Body<P extends keyof paths, M extends keyof paths[P]> = Op<P, M> extends { requestBody?: infer R } ? Json<NonNullable<R>> : never;
type Answer<P extends keyof paths, M extends keyof paths[P], S extends number> = Op<P, M> extends { responses: infer R } ? (S extends keyof R ? Json<R[S]> : never) : never;

async function call<T>(base: string, method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await res.json()) as T;
}

export async function walk(base: string): Promise<string> {
  const signup: Body<'/auth/signup', 'post'> = { email: 'ada@example.com', password: 'correct horse battery' };
  const account = await call<Answer<'/auth/signup', 'post', 201>>(base, 'POST', '/auth/signup', signup);
  const token: string = account.token;
  const lifetime: number = account.expiresIn;

  const definition: Body<'/workflows', 'post'> = {
    workflowId: 'say-hello',
    trigger: { type: 'cron', cron: '*/5 * * * *', timezone: 'Europe/Paris' },
    actions: [{ type: 'log', message: 'hello {{trigger.payload.name}}' }],
  };
  const created = await call<Answer<'/workflows', 'post', 201>>(base, 'POST', '/workflows', definition, token);
  const version: number = created.version;

  const payload: Body<'/workflows/{workflowId}/trigger', 'post'> = { name: 'Ada' };
  const accepted = await call<Answer<'/workflows/{workflowId}/trigger', 'post', 202>>(base, 'POST', `/workflows/${created.workflowId}/trigger`, payload, token);
  const run = await call<Answer<'/executions/{executionId}', 'get', 200>>(base, 'GET', `/executions/${accepted.executionId}`, undefined, token);

  const status: 'queued' | 'running' | 'waiting' | 'pending_retry' | 'completed' | 'failed' | 'cancelled' = run.status;
  const cancelled = await call<Answer<'/executions/{executionId}/cancel', 'post', 200>>(base, 'POST', `/executions/${accepted.executionId}/cancel`, undefined, token);
  const rerun: Body<'/executions/{executionId}/retry', 'post'> = { from: 'start' };
  const again = await call<Answer<'/executions/{executionId}/retry', 'post', 202>>(base, 'POST', `/executions/${cancelled.executionId}/retry`, rerun, token);
  const firstStep: string | undefined = run.steps[0]?.status;
  const earlier: { attempt: number; endedAs: 'pending_retry' | 'failed' | 'cancelled' | 'lease_expired'; error?: string }[] = run.attempts;
  const busy = await call<Answer<'/workflows/{workflowId}/trigger', 'post', 409>>(base, 'POST', `/workflows/${created.workflowId}/trigger`, undefined, token);
  const code: string = busy.error.code;
  return `${lifetime} ${version} ${status} ${firstStep ?? '-'} ${code} ${cancelled.status} ${again.executionId} ${earlier.length}`;
}
