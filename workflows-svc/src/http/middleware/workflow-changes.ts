import type { RequestHandler } from 'express';
import type { ChangeFeed } from '../../live/change-feed.js';
import { currentUserId } from './authenticate.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** `/workflows` (create) and `/workflows/:workflowId[/hook/rotate]`; not the trigger, whose run the bus announces. */
const WORKFLOW_WRITE = /^\/workflows(?:\/([^/]+)(\/hook\/rotate)?)?\/?$/;

/**
 * Announces in the live feed every workflow write that succeeded through this instance, once
 * its answer is out, so the routes stay unaware of the feed. Put behind `authenticate`.
 */
export function announceWorkflowChanges(feed: ChangeFeed): RequestHandler {
  return (req, res, next) => {
    const match = WRITES.has(req.method) ? WORKFLOW_WRITE.exec(req.path) : null;
    if (match) {
      res.once('finish', () => {
        if (res.statusCode >= 300) return;
        const fromPath = match[1] === undefined ? undefined : safeDecode(match[1]);
        const created: unknown = (req.body as { workflowId?: unknown } | undefined)?.workflowId;
        const workflowId = fromPath ?? (typeof created === 'string' ? created : undefined);
        if (workflowId === undefined) return;
        feed.publish({ kind: 'workflow', ownerId: currentUserId(req), workflowId, deleted: req.method === 'DELETE' });
      });
    }
    next();
  };
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined; // the route refused it already
  }
}
