import { Router, type Response } from 'express';
import type { Change, ChangeFeed, FeedEntry } from '../../live/change-feed.js';
import { currentUserId } from '../middleware/authenticate.js';

export interface EventStreamOptions {
  /** A comment line this often keeps proxies and the browser from closing an idle stream. */
  heartbeatMs: number;
  /** A client this far behind (bytes not yet taken by its socket) is cut off; it reconnects and resumes. */
  maxBufferedBytes: number;
  /** The reconnection delay the browser is told to use. */
  retryMs: number;
}

export const DEFAULT_EVENT_STREAM_OPTIONS: EventStreamOptions = { heartbeatMs: 15_000, maxBufferedBytes: 1 << 20, retryMs: 1_000 };

const MAX_LAST_EVENT_ID = 64;

/** The public part of a change: the owner is implied by the stream. */
function payloadOf(change: Change): Record<string, unknown> {
  const { ownerId: _owner, kind: _kind, ...rest } = change;
  return rest;
}

const frame = (entry: FeedEntry) => `id: ${entry.id}\nevent: ${entry.change.kind}\ndata: ${JSON.stringify(payloadOf(entry.change))}\n\n`;

/**
 * `GET /events`: the caller's run and workflow changes as server-sent events (`run`,
 * `workflow`). It opens with `ready` carrying the id of where the client stands; a client
 * that reconnects with `Last-Event-ID` gets what it missed, or `reset` when that cannot be
 * known (another instance, too long ago): it should then refetch what it shows.
 */
export function eventRoutes(feed: ChangeFeed, options: EventStreamOptions = DEFAULT_EVENT_STREAM_OPTIONS): Router {
  const router = Router();

  router.get('/events', (req, res: Response) => {
    const ownerId = currentUserId(req);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no', // nginx: pass each event on at once
    });
    req.socket.setNoDelay(true);

    const send = (text: string) => {
      if (res.writableEnded) return;
      if (res.writableLength > options.maxBufferedBytes) {
        req.log.warn({ buffered: res.writableLength }, 'event stream client too far behind; closing it');
        res.end();
        return;
      }
      res.write(text);
    };

    send(`retry: ${options.retryMs}\n\n`);
    const lastEventId = req.get('last-event-id');
    if (lastEventId !== undefined) {
      const missed = lastEventId.length <= MAX_LAST_EVENT_ID ? feed.since(ownerId, lastEventId) : null;
      if (missed === null) send(`id: ${feed.lastId}\nevent: reset\ndata: {}\n\n`);
      else for (const entry of missed) send(frame(entry));
    }
    send(`id: ${feed.lastId}\nevent: ready\ndata: {}\n\n`);

    const unsubscribe = feed.subscribe(ownerId, {
      onChange: (entry) => send(frame(entry)),
      onClose: () => res.end(),
    });
    const heartbeat = setInterval(() => send(': keep-alive\n\n'), options.heartbeatMs);
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  return router;
}
