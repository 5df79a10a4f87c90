import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { keys } from '../api/queries';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

/**
 * Follows `GET /events` while signed in and refreshes what a change touches: a run event
 * refreshes that run, the run lists, the workflows (their status and outcome strip) and
 * the overview; a workflow event the workflows. The browser reconnects by itself with
 * `Last-Event-ID`; the server replays what was missed, or says `reset` and everything is
 * refetched.
 */
export function useLiveUpdates(enabled: boolean, onSessionLost: () => void): LiveState {
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>('connecting');

  useEffect(() => {
    if (!enabled) return;
    const source = new EventSource('/events');
    const refresh = (...prefixes: (readonly unknown[])[]) => {
      for (const queryKey of prefixes) void client.invalidateQueries({ queryKey });
    };
    source.addEventListener('ready', () => setState('live'));
    source.addEventListener('run', (e) => {
      const { executionId } = JSON.parse((e as MessageEvent<string>).data) as { executionId: string };
      refresh(keys.run(executionId), keys.runs, keys.workflows, keys.recentRuns, keys.stats);
    });
    source.addEventListener('workflow', () => refresh(keys.workflows, keys.recentRuns));
    source.addEventListener('reset', () => void client.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'openapi' && q.queryKey[0] !== 'session' }));
    source.onerror = () => {
      // CLOSED: the server refused the stream (the session ended); otherwise the browser retries.
      if (source.readyState === EventSource.CLOSED) onSessionLost();
      else setState('reconnecting');
    };
    return () => source.close();
  }, [enabled, client, onSessionLost]);

  return state;
}
