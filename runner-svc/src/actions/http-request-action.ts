import { DEFAULT_ACTION_TIMEOUT_MS, OutboundRequestRefusedError, type HttpClient, type HttpRequestAction } from '@wf/shared';
import { renderString, renderValue } from '../templating.js';
import { redact } from '../worker/redact.js';
import { PermanentActionError, type ActionContext, type ActionExecutor } from './action.js';

/** Fails the step on a non-2xx answer, keeping what came back as the output. */
export class HttpStatusError extends Error {
  constructor(readonly output: unknown, status: number) {
    super(`HTTP ${status}`);
  }
}

export class HttpRequestActionExecutor implements ActionExecutor<HttpRequestAction> {
  constructor(private readonly http: HttpClient) {}

  async run(action: HttpRequestAction, { template, signal }: ActionContext) {
    const url = renderString(action.url, template);
    const headers = action.headers
      ? Object.fromEntries(Object.entries(action.headers).map(([k, v]) => [k, renderString(v, template)]))
      : undefined;
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
        ...(headers ? { headers } : {}),
        ...(body === undefined ? {} : { body }),
        timeoutMs: action.timeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS,
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
