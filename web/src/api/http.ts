/** A failed API call: the API's `{ error: { code, message, details } }`, with the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = undefined,
    /** Seconds, from `Retry-After` (429). */
    readonly retryAfter: number | undefined = undefined,
  ) {
    super(message);
  }
}

/** Told when a call finds the session gone (401), so the app can send the user to log in. */
let onSessionLost: () => void = () => {};
export function whenSessionLost(handler: () => void): void {
  onSessionLost = handler;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** A 401 here is an answer (a login form), not a lost session. */
  expectUnauthorized?: boolean;
}

/**
 * Calls the API on this origin. The session is the HttpOnly cookie the browser sends by
 * itself; every request that changes something carries the CSRF header the API asks of
 * cookie sessions.
 */
export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (method !== 'GET') headers['x-wf-csrf'] = '1';
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  const json: unknown = text ? safeJson(text) : undefined;
  if (res.ok) return json as T;
  const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  const retryAfter = Number(res.headers.get('retry-after')) || undefined;
  const failure = new ApiError(res.status, error?.code ?? `http_${res.status}`, error?.message ?? res.statusText, error?.details, retryAfter);
  if (res.status === 401 && !options.expectUnauthorized) onSessionLost();
  throw failure;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const get = <T>(path: string) => call<T>('GET', path);

/** A query string from the defined values only. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}
