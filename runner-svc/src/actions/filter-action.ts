import type { FilterAction } from '@wf/shared';
import { conditionHolds } from '../conditions.js';
import type { ActionContext, ActionExecutor } from './action.js';

/** Its output says whether the run goes on (`passed`); the worker skips the rest when it does not. */
export class FilterActionExecutor implements ActionExecutor<FilterAction> {
  readonly instant = true;

  async run(action: FilterAction, { template }: ActionContext) {
    return { passed: conditionHolds(action.when, template) };
  }
}
