import { NotFoundError, type Execution, type Store } from '@wf/shared';

export class GetExecution {
  constructor(private readonly store: Store) {}

  /** Another owner's execution is not found, exactly like a missing one. */
  async execute(ownerId: string, executionId: string): Promise<Execution> {
    const execution = await this.store.executions.get(executionId);
    if (!execution || execution.ownerId !== ownerId) throw new NotFoundError(`execution "${executionId}" not found`);
    return execution;
  }
}
