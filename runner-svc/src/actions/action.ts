import type { Action, Logger } from '@wf/shared';
import type { TemplateContext } from '../templating.js';

export interface ActionContext {
  template: TemplateContext;
  /** A logger already bound to the execution and step. */
  logger: Logger;
  /** Aborted when the run is cancelled while the step is in flight: an action that waits on the outside world stops waiting. */
  signal?: AbortSignal;
  /** The step's stable key (same execution and step: same key), for effects safe to repeat. */
  idempotencyKey: string;
  /** How long the step may take. */
  timeoutMs: number;
  /** When the step started, by the worker's clock. */
  now: Date;
  /** Replaces the values of the secrets the step uses: for anything it logs. */
  conceal: (text: string) => string;
}

/** Runs one kind of action. Throws to fail the step; the returned value is the step's output. */
export interface ActionExecutor<A extends Action = Action> {
  /**
   * Runs in-process, at once, with no effect outside the process (a `log`). Its start is not
   * recorded on its own: the step is written once, when it ends, within the lease already held.
   */
  readonly instant?: boolean;
  run(action: A, context: ActionContext): Promise<unknown>;
}

/** A failure that retrying cannot fix (a refused destination, a bad template): the run fails at once. */
export class PermanentActionError extends Error {}

export type ActionRegistry = { [T in Action['type']]: ActionExecutor<Extract<Action, { type: T }>> };
