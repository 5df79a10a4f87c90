import type { Clock, GroupCommit, Store, Topics } from '@wf/shared';
import type { Metrics } from '@wf/shared/ops';
import { AuthenticateUser } from './authenticate-user.js';
import { CancelExecution } from './cancel-execution.js';
import { CreateWorkflow } from './create-workflow.js';
import { DeleteSecret } from './delete-secret.js';
import { DeleteWorkflow } from './delete-workflow.js';
import { EndSessions } from './end-sessions.js';
import { GetCurrentUser } from './get-current-user.js';
import { GetRunStats } from './get-run-stats.js';
import { GetExecution } from './get-execution.js';
import { GetWorkflow } from './get-workflow.js';
import { ListExecutions } from './list-executions.js';
import { ListRuns } from './list-runs.js';
import { ListSecrets } from './list-secrets.js';
import { ListWorkflows } from './list-workflows.js';
import { LogIn } from './log-in.js';
import { PatchWorkflow } from './patch-workflow.js';
import type { AccessTokens, PasswordHasher, SecretSealer, SessionTokens } from './ports.js';
import { PutSecret } from './put-secret.js';
import { GetRecentRuns } from './recent-runs.js';
import { ReplaceWorkflow } from './replace-workflow.js';
import { RerunExecution } from './rerun-execution.js';
import { ResumeSession } from './resume-session.js';
import { RotateHookSecret } from './rotate-hook-secret.js';
import { SignUp } from './sign-up.js';
import { StartSession } from './start-session.js';
import { TriggerWorkflow } from './trigger-workflow.js';

export interface UseCaseDeps {
  store: Store;
  clock: Clock;
  topics: Topics;
  passwords: PasswordHasher;
  tokens: AccessTokens;
  /** The dashboard's cookie sessions. */
  sessions: SessionTokens;
  /** The store's group commit: concurrent triggers share transactions under load. */
  groupCommit: GroupCommit;
  /** Seals the users' secrets (`SecretsCipher`). */
  secrets: SecretSealer;
  metrics?: Metrics;
}

export type UseCases = ReturnType<typeof createUseCases>;

/** Every use case of the service, wired to the same ports. */
export function createUseCases({ store, clock, topics, passwords, tokens, sessions, groupCommit, secrets, metrics }: UseCaseDeps) {
  const logIn = new LogIn(store, passwords, tokens);
  return {
    signUp: new SignUp(store, clock, passwords, tokens),
    logIn,
    authenticateUser: new AuthenticateUser(store, tokens, clock),
    startSession: new StartSession(logIn, sessions),
    resumeSession: new ResumeSession(store, sessions),
    endSessions: new EndSessions(store),
    getCurrentUser: new GetCurrentUser(store),
    createWorkflow: new CreateWorkflow(store, clock),
    replaceWorkflow: new ReplaceWorkflow(store, clock),
    patchWorkflow: new PatchWorkflow(store, clock),
    deleteWorkflow: new DeleteWorkflow(store),
    getWorkflow: new GetWorkflow(store),
    listWorkflows: new ListWorkflows(store),
    triggerWorkflow: new TriggerWorkflow(groupCommit, clock, topics, metrics),
    rotateHookSecret: new RotateHookSecret(store, clock),
    listExecutions: new ListExecutions(store),
    getExecution: new GetExecution(store),
    cancelExecution: new CancelExecution(store.uow, clock, topics),
    rerunExecution: new RerunExecution(store.uow, clock, topics),
    listRuns: new ListRuns(store),
    getRecentRuns: new GetRecentRuns(store),
    getRunStats: new GetRunStats(store, clock),
    putSecret: new PutSecret(store, clock, secrets),
    listSecrets: new ListSecrets(store),
    deleteSecret: new DeleteSecret(store),
  };
}
