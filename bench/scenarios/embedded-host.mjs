// The embedded mode, hosted for the bench: the same composition as system/dist/src/embedded.js
// (startSystemFromEnv: memory store, in-process bus) in its own process, plus an IPC channel
// through which the bench reads progress and timings straight from the store without going
// through the API it measures.
import { createLogger, loadConfig } from '@wf/shared';
import { RunnerEnvSchema } from '@wf/runner-svc';
import { SchedulerEnvSchema } from '@wf/scheduler-svc';
import { WorkflowsEnvSchema } from '@wf/workflows-svc';
import { startSystemFromEnv } from '@wf/system';
import { setImmediate } from 'node:timers';
import { startRssSampler } from '../lib/rss.mjs';

const rss = startRssSampler(100);
const env = { workflows: loadConfig(WorkflowsEnvSchema), scheduler: loadConfig(SchedulerEnvSchema), runner: loadConfig(RunnerEnvSchema) };
const logger = createLogger({ level: env.workflows.LOG_LEVEL, service: 'embedded' });
const { store, system, stop } = await startSystemFromEnv(env, logger);

const handlers = {
  async progress() {
    const c = await store.executions.countByStatus();
    return { finished: c.completed + c.failed, counts: c };
  },
  /** createdAt, startedAt, finishedAt (epoch ms) and status of each execution in `ids`. */
  async timings({ ids }) {
    const out = { created: [], started: [], finished: [], failed: 0, missing: 0 };
    for (const id of ids) {
      const e = await store.executions.get(id);
      if (!e) {
        out.missing += 1;
        continue;
      }
      if (e.status === 'failed') out.failed += 1;
      out.created.push(e.createdAt.getTime());
      out.started.push(e.startedAt?.getTime() ?? NaN);
      out.finished.push(e.finishedAt?.getTime() ?? NaN);
    }
    return out;
  },
  memory: async () => ({ peakRssMiB: rss.peakMiB() }),
  async stop() {
    await stop();
    return { peakRssMiB: rss.peakMiB() };
  },
};

process.on('message', async ({ id, cmd, args }) => {
  try {
    process.send({ id, ok: true, value: await handlers[cmd](args) });
  } catch (err) {
    process.send({ id, ok: false, error: String(err?.stack ?? err) });
  }
  // Exit explicitly (a --cpu-prof profile is written on exit, not when killed by a signal).
  if (cmd === 'stop') setImmediate(() => process.exit(0));
});
process.once('SIGTERM', () => {
  handlers.stop().finally(() => process.exit(0));
});
process.send({ ready: true, port: system.port });
