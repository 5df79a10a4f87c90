import { useEffect } from 'react';

export const INTERACTIVE_MARK = 'dashboard:interactive';

/** Marks (once) when the first real page is on screen and answers input: what the browser tests report. */
export function useMarkInteractive(): void {
  useEffect(() => {
    if (performance.getEntriesByName(INTERACTIVE_MARK).length === 0) performance.mark(INTERACTIVE_MARK);
  }, []);
}
