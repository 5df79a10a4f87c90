import type { DelayAction } from '@wf/shared';
import { intervalToMs } from '@wf/shared';
import { renderString } from '../templating.js';
import { PermanentActionError, type ActionContext, type ActionExecutor } from './action.js';

/** Works out when the run may go on (`resumeAt`); the worker parks the run until then. */
export class DelayActionExecutor implements ActionExecutor<DelayAction> {
  readonly instant = true;

  async run(action: DelayAction, { template, now }: ActionContext) {
    if (action.duration !== undefined) return { resumeAt: new Date(now.getTime() + intervalToMs(action.duration)).toISOString() };
    const until = renderString(action.until ?? '', template);
    const at = Date.parse(until);
    if (Number.isNaN(at)) throw new PermanentActionError(`until "${until}" is not a time (ISO 8601, e.g. 2026-03-01T09:00:00Z)`);
    return { resumeAt: new Date(at).toISOString() };
  }
}
