import jsonLogic from 'json-logic-js';
import { conditionProblem } from '@wf/shared';
import { PermanentActionError } from './actions/action.js';
import type { TemplateContext } from './templating.js';

/**
 * Evaluates a condition (JSONLogic, checked when the workflow was saved and again here) over
 * what the run knows, as plain JSON: an interpreter walks the data; nothing is compiled or
 * run as code. Truthiness is JSONLogic's (an empty array is false).
 */
export function conditionHolds(expression: unknown, context: TemplateContext): boolean {
  const problem = conditionProblem(expression);
  if (problem) throw new PermanentActionError(`condition ${problem}`);
  const data = JSON.parse(JSON.stringify(context)) as unknown;
  try {
    return jsonLogic.truthy(jsonLogic.apply(expression as jsonLogic.RulesLogic, data));
  } catch (err) {
    throw new PermanentActionError(`condition could not be evaluated: ${err instanceof Error ? err.message : String(err)}`);
  }
}
