import type { ActionForm } from './definition';

/** What an action's output holds, for the hints of the actions after it. */
const OUTPUT_FIELDS: Record<ActionForm['type'], string[]> = {
  log: ['message', 'level'],
  'http-request': ['status', 'body', 'headers'],
  filter: ['passed'],
  delay: ['resumeAt'],
};

/**
 * The placeholders an action at `index` can use: the trigger's payload, the outputs of the
 * actions before it (each by its own type), the run and the workflow.
 */
export function placeholdersFor(actions: readonly ActionForm[], index: number): string[] {
  const earlier = actions.slice(0, index).flatMap((a, i) => OUTPUT_FIELDS[a.type].map((field) => `{{steps.${i}.output.${field}}}`));
  return ['{{trigger.payload.<field>}}', ...earlier, '{{execution.id}}', '{{workflow.id}}'];
}
