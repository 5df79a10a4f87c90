import { parseOrThrow } from '@wf/shared';
import { z } from 'zod';
import { Router, type Request, type Response } from 'express';
import type { WorkflowResult } from '../../app/workflow-definition.js';
import { currentUserId } from '../middleware/authenticate.js';
import { etag, expectedVersion, PageQuerySchema, publicOrigin, workflowIdParam } from '../request.js';
import { hookView, workflowView } from '../views.js';
import { CreateWorkflowBody, PatchWorkflowBody, ReplaceWorkflowBody } from '../schemas/requests.js';
import type { RouteDeps } from './deps.js';

/** `prefix`: only the workflows whose id starts with it (the dashboard's search). */
const WorkflowListQuerySchema = PageQuerySchema.extend({ prefix: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be the start of a workflow id').optional() });

export function workflowRoutes({ useCases, config }: RouteDeps): Router {
  const router = Router();
  const origin = (req: Request) => publicOrigin(req, config);
  /** The workflow's `version` is its ETag, for `If-Match` on the next write. */
  const send = (req: Request, res: Response, status: number, { workflow, hookSecret }: WorkflowResult) =>
    res.status(status).set('ETag', etag(workflow.version)).json(workflowView(workflow, origin(req), hookSecret));
  const target = (req: Request) => {
    const workflowId = workflowIdParam(req);
    const version = expectedVersion(req);
    return { ownerId: currentUserId(req), workflowId, ...(version === undefined ? {} : { expectedVersion: version }) };
  };

  router.post('/workflows', async (req, res) => {
    const input = parseOrThrow(CreateWorkflowBody, req.body);
    const result = await useCases.createWorkflow.execute(currentUserId(req), input);
    res.location(`/workflows/${encodeURIComponent(result.workflow.workflowId)}`);
    send(req, res, 201, result);
  });

  router.get('/workflows', async (req, res) => {
    const { limit, cursor, prefix } = parseOrThrow(WorkflowListQuerySchema, req.query, 'query');
    const page = await useCases.listWorkflows.execute(currentUserId(req), cursor === undefined ? { limit } : { limit, cursor }, prefix);
    res.json({ items: page.items.map((wf) => workflowView(wf, origin(req))), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  });

  router.get('/workflows/:workflowId', async (req, res) => {
    const workflow = await useCases.getWorkflow.execute(currentUserId(req), workflowIdParam(req));
    send(req, res, 200, { workflow });
  });

  router.put('/workflows/:workflowId', async (req, res) => {
    send(req, res, 200, await useCases.replaceWorkflow.execute(target(req), parseOrThrow(ReplaceWorkflowBody, req.body)));
  });

  router.patch('/workflows/:workflowId', async (req, res) => {
    send(req, res, 200, await useCases.patchWorkflow.execute(target(req), parseOrThrow(PatchWorkflowBody, req.body)));
  });

  router.delete('/workflows/:workflowId', async (req, res) => {
    await useCases.deleteWorkflow.execute(target(req));
    res.status(204).end();
  });

  router.post('/workflows/:workflowId/hook/rotate', async (req, res) => {
    const { hookId, secret, workflow } = await useCases.rotateHookSecret.execute(target(req));
    res.set('Cache-Control', 'no-store').set('ETag', etag(workflow.version)).json(hookView(hookId, origin(req), secret));
  });

  return router;
}
