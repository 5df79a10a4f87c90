import type { Logger } from '@wf/shared';

const LEVELS = new Set<string | symbol>(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const skip = () => undefined;

/** The logger each lazy child stands for, made on first need. */
const realOf = new WeakMap<Logger, () => Logger>();
/** The logger (not a lazy one) each lazy child descends from: its level is theirs. */
const rootOf = new WeakMap<Logger, Logger>();

/**
 * `parent.child(bindings)`, made only when a line is logged through it at a level that is
 * enabled. A pino child costs its bindings' serialization and redaction at once; the runner
 * makes one per run and one per step, and at the usual level (warn) almost none of them logs.
 * Its level is its root's (the children here never set one of their own); its children are
 * lazy too; anything else asked of it makes it.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let made: Logger | undefined;
  const root = rootOf.get(parent) ?? parent;
  const real = () => (made ??= (realOf.get(parent)?.() ?? parent).child(bindings));
  const lazy: Logger = new Proxy(parent, {
    get(_target, name) {
      if (LEVELS.has(name) && !root.isLevelEnabled(name as string)) return skip;
      if (name === 'isLevelEnabled') return root.isLevelEnabled.bind(root);
      if (name === 'child') return (more: Record<string, unknown>) => lazyChild(lazy, more);
      const value: unknown = Reflect.get(real(), name);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real()) : value;
    },
  });
  realOf.set(lazy, real);
  rootOf.set(lazy, root);
  return lazy;
}
