import { OutboundRequestRefusedError, type HttpClient, type HttpRequestAction } from '@wf/shared';
import { renderString, renderValue } from '../templating.js';
import { redact } from '../worker/redact.js';
import { PermanentActionError, type ActionContext, type ActionExecutor } from './action.js';

/** Fails the step on a non-2xx answer, keeping what came back as the output. */
export class HttpStatusError extends Error {
  constructor(readonly output: unknown, status: number) {
    super(`HTTP ${status}`);
  }
}

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

export class HttpRequestActionExecutor implements ActionExecutor<HttpRequestAction> {
  constructor(private readonly http: HttpClient) {}

  async run(action: HttpRequestAction, { template, idempotencyKey, timeoutMs, signal }: ActionContext) {
    const url = renderString(action.url, template);
    const headers = Object.fromEntries(Object.entries(action.headers ?? {}).map(([k, v]) => [k, renderString(v, template)]));
    const ownKey = Object.keys(headers).some((name) => name.toLowerCase() === IDEMPOTENCY_HEADER.toLowerCase());
    if (action.idempotencyKey !== false && !ownKey) headers[IDEMPOTENCY_HEADER] = idempotencyKey;
    const body = action.body === undefined ? undefined : renderValue(action.body, template);
    try {
      new URL(url);
    } catch {
      throw new PermanentActionError(`url "${url}" is not a valid URL after templating`);
    }
    let response;
    try {
      response = await this.http.request({
        url,
        method: action.method,
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
        ...(body === undefined ? {} : { body }),
        timeoutMs,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (err instanceof OutboundRequestRefusedError) throw new PermanentActionError(err.message);
      throw err;
    }
    const output = redact({ status: response.status, headers: response.headers, body: response.body, truncated: response.truncated, durationMs: response.durationMs });
    if (response.status < 200 || response.status > 299) throw new HttpStatusError(output, response.status);
    return output;
  }
}
