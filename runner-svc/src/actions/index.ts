import type { HttpClient } from '@wf/shared';
import type { ActionRegistry } from './action.js';
import { DelayActionExecutor } from './delay-action.js';
import { FilterActionExecutor } from './filter-action.js';
import { HttpRequestActionExecutor } from './http-request-action.js';
import { LogActionExecutor } from './log-action.js';

export function createActions({ http }: { http: HttpClient }): ActionRegistry {
  return { log: new LogActionExecutor(), 'http-request': new HttpRequestActionExecutor(http), filter: new FilterActionExecutor(), delay: new DelayActionExecutor() };
}

export { PermanentActionError, type ActionContext, type ActionExecutor, type ActionRegistry } from './action.js';
export { HttpStatusError } from './http-request-action.js';
