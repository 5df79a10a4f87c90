// Request/response over a child's IPC channel: `call(cmd, args)` → the child's answer.
export function ipcClient(child) {
  let seq = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    const w = m && m.id !== undefined ? waiting.get(m.id) : undefined;
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.value);
    else w.reject(new Error(m.error));
  });
  child.once('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`child exited (${code ?? signal})`));
    waiting.clear();
  });
  return {
    call(cmd, args) {
      const id = seq++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.send({ id, cmd, args });
      });
    },
    /** The first message that satisfies `pick` (e.g. the child's `ready`). */
    first(pick) {
      return new Promise((resolve, reject) => {
        const on = (m) => {
          if (!pick(m)) return;
          child.off('message', on);
          resolve(m);
        };
        child.on('message', on);
        child.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready`)));
      });
    },
  };
}
