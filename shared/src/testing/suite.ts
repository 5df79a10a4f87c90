import { after, before } from 'node:test';

/**
 * A resource the tests of the enclosing `describe` block share: started by the block's
 * `before` hook and closed by its `after` hook. `use` receives it once started, so the
 * suite can keep it (or parts of it) in its own variables.
 */
export function startForSuite<T extends { close(): unknown }>(start: () => Promise<T>, use: (resource: T) => unknown): void {
  let resource: T | undefined;
  before(async () => {
    resource = await start();
    await use(resource);
  });
  after(async () => {
    await resource?.close();
  });
}
