/** The first entry of each execution in `entries`, in order: the entries a batch write of one statement acts on. */
export function firstOfEach<T extends { executionId: string }>(entries: readonly T[]): T[] {
  const seen = new Set<string>();
  return entries.filter((entry) => !seen.has(entry.executionId) && seen.add(entry.executionId));
}
