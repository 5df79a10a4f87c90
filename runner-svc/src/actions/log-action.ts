import type { LogAction } from '@wf/shared';
import { renderString } from '../templating.js';
import type { ActionContext, ActionExecutor } from './action.js';

export class LogActionExecutor implements ActionExecutor<LogAction> {
  readonly instant = true;

  async run(action: LogAction, { template, logger, conceal }: ActionContext) {
    const message = conceal(renderString(action.message, template));
    const level = action.level ?? 'info';
    logger[level]({ action: 'log' }, message);
    return { message, level };
  }
}
