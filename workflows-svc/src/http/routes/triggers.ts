import { parseOrThrow } from '@wf/shared';
import { Router, type Request, type Response } from 'express';
import { hookNotFound, type TriggerResult, type TriggerTarget } from '../../app/trigger-workflow.js';
import { currentUserId } from '../middleware/authenticate.js';
import { limiter } from '../middleware/rate-limit.js';
import { idempotencyKey, workflowIdParam } from '../request.js';
import { TriggerPayloadBody } from '../schemas/requests.js';
import type { RouteDeps } from './deps.js';

/** An optional JSON object; no body at all means no payload. */
const payloadOf = (req: Request) => (req.body === undefined ? undefined : parseOrThrow(TriggerPayloadBody, req.body, 'payload'));

/**
 * Both trigger routes answer alike: 202 with the run, flagged when it is an idempotent replay.
 * The JSON is written as is rather than through `res.json`, which would hash it into a weak
 * ETag (of no use on the answer to a POST) and send the headers and the body in two writes;
 * node sets the Content-Length.
 */
function sendAccepted(res: Response, result: TriggerResult): void {
  if (result.replayed) res.set('Idempotent-Replayed', 'true');
  res
    .status(202)
    .set('Content-Type', 'application/json; charset=utf-8')
    .end(JSON.stringify({ executionId: result.executionId, status: result.status }));
}

/** Reads what a trigger call carries besides its target and runs it. */
async function trigger({ useCases }: RouteDeps, req: Request, target: TriggerTarget): Promise<TriggerResult> {
  const payload = payloadOf(req);
  const key = idempotencyKey(req);
  return useCases.triggerWorkflow.execute({
    target,
    ...(payload === undefined ? {} : { payload }),
    ...(key === undefined ? {} : { idempotencyKey: key }),
  });
}

/** `POST /workflows/:workflowId/trigger`: a manual run, by the owner. */
export function manualTriggerRoutes(deps: RouteDeps): Router {
  const router = Router();
  const { triggerPerUser, triggerPerWorkflow } = deps.config.rateLimits;
  const perUser = limiter({ limit: triggerPerUser, logger: deps.logger, key: (req) => `user:${currentUserId(req)}` });
  const perWorkflow = limiter({
    limit: triggerPerWorkflow,
    logger: deps.logger,
    key: (req) => `workflow:${currentUserId(req)}:${String(req.params.workflowId)}`,
  });

  router.post('/workflows/:workflowId/trigger', perUser, perWorkflow, async (req, res) => {
    const target: TriggerTarget = { kind: 'owned', ownerId: currentUserId(req), workflowId: workflowIdParam(req) };
    const result = await trigger(deps, req, target);
    res.location(`/executions/${result.executionId}`);
    sendAccepted(res, result);
  });

  return router;
}

/** Shape of a hook id we hand out; anything else cannot exist and is not looked up. */
const HOOK_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SECRET_LENGTH = 256;

/**
 * `POST /hooks/:hookId` with the secret in `X-Hook-Secret`, or `POST /hooks/:hookId/:secret`
 * for senders that cannot set headers. No login: the secret is the credential. Every
 * failure to match is the same 404.
 */
export function hookRoutes(deps: RouteDeps): Router {
  const router = Router();
  const perHook = limiter({
    limit: deps.config.rateLimits.triggerPerWorkflow,
    logger: deps.logger,
    key: (req) => `hook:${String(req.params.hookId)}`,
  });

  const handle = async (req: Request<{ hookId: string; secret?: string }>, res: Response) => {
    const { hookId } = req.params;
    const secret = req.get('x-hook-secret') ?? req.params.secret ?? '';
    if (!HOOK_ID.test(hookId) || secret === '' || secret.length > MAX_SECRET_LENGTH) throw hookNotFound();
    sendAccepted(res, await trigger(deps, req, { kind: 'hook', hookId, secret }));
  };

  router.post('/hooks/:hookId', perHook, handle);
  router.post('/hooks/:hookId/:secret', perHook, handle);
  return router;
}
