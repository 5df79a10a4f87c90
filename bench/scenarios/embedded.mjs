// Our system in one process (memory store, in-process bus), in a child process of its
// own, driven through its REST API from the bench process.
import { join } from 'node:path';
import { ApiClient } from '../lib/http-client.mjs';
import { ipcClient } from '../lib/ipc.mjs';
import { childEnv, freePort, NodeProcess } from '../lib/processes.mjs';
import { measureThroughput } from '../lib/throughput.mjs';

export async function embedded(ctx) {
  const port = await freePort();
  const host = new NodeProcess('embedded', {
    script: join(ctx.here, 'scenarios', 'embedded-host.mjs'),
    env: childEnv({
      PORT: String(port),
      LOG_LEVEL: 'warn',
      TRIGGER_RATE_LIMIT_PER_USER: '0',
      TRIGGER_RATE_LIMIT_PER_WORKFLOW: '0',
      LOGIN_RATE_LIMIT_PER_EMAIL: '0',
      LOGIN_RATE_LIMIT_PER_IP: '0',
      JWT_EXPIRES_IN: '24h',
      ...ctx.svcEnv,
    }),
    logFile: join(ctx.logDir, 'embedded.log'),
    ipc: true,
    nodeArgs: ctx.profileNodeArgs('embedded'),
  }).start();
  const ipc = ipcClient(host.child);
  const api = new ApiClient(`http://127.0.0.1:${port}`);
  try {
    await ipc.first((m) => m.ready);
    await api.signUp();
    const result = await measureThroughput(ctx, api, {
      finished: async () => (await ipc.call('progress')).finished,
      cpuSeconds: () => ({ embedded: host.cpuSeconds() }),
      timings: (ids) => ipc.call('timings', { ids }),
    });
    const vmHwm = host.memory().peakMiB;
    const { peakRssMiB } = await ipc.call('stop');
    return {
      process: 'the three services in one child process (as system/dist/src/embedded.js composes them)',
      ...result,
      peakRssMiB: { 'load generator (bench process)': ctx.loadRss.peakMiB(), embedded: peakRssMiB },
      vmHwmMiB: { embedded: vmHwm },
    };
  } finally {
    api.close();
    await host.stop(10_000);
  }
}
