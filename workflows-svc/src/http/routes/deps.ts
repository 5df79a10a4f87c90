import type { Logger } from '@wf/shared';
import type { UseCases } from '../../app/use-cases.js';
import type { WorkflowsConfig } from '../../config.js';

/** What every route module is built from. */
export interface RouteDeps {
  useCases: UseCases;
  config: WorkflowsConfig;
  logger: Logger;
}
