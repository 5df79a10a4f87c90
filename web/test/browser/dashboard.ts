import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TOPICS, loadConfig, newSecretsKey, silentLogger, systemClock, type Bus, type Store } from '@wf/shared';
import { createInProcessBus } from '@wf/shared/inprocess';
import { createMemoryStore } from '@wf/shared/memory';
import { RunnerEnvSchema, runnerConfig } from '@wf/runner-svc';
import { SchedulerEnvSchema, schedulerConfig } from '@wf/scheduler-svc';
import { startSystem, type RunningSystem } from '@wf/system';
import { WorkflowsEnvSchema, workflowsConfig } from '@wf/workflows-svc';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';

/** `web/` from `web/dist/test/browser/`. */
export const WEB_DIR = fileURLToPath(new URL('../../../', import.meta.url));
export const BUILD_DIR = join(WEB_DIR, 'dist', 'app');
/** Kept by CI (gitignored): screenshots of every page at both widths. */
export const RESULTS_DIR = join(WEB_DIR, 'test-results');

/** Debian's Chromium, headless, with nothing running in the background. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Dashboard {
  url: string;
  store: Store;
  stop(): Promise<void>;
}

/**
 * The whole system in this process (memory store, in-process bus: the embedded mode),
 * serving the built dashboard; the scheduler ticks every second so retries come round fast,
 * and the runner may call local servers.
 */
export async function startDashboard(): Promise<Dashboard> {
  const store = createMemoryStore();
  const bus: Bus = createInProcessBus({ logger: silentLogger });
  const SECRETS_KEY = newSecretsKey();
  const system: RunningSystem = await startSystem({
    store,
    busFor: () => bus,
    clock: systemClock,
    logger: silentLogger,
    topics: DEFAULT_TOPICS,
    workflows: workflowsConfig(loadConfig(WorkflowsEnvSchema, { PORT: '0', JWT_SECRET: 'browser-test-secret-of-at-least-32-bytes', SECRETS_KEY, WEB_ROOT: BUILD_DIR, LOGIN_RATE_LIMIT_PER_IP: '0' })),
    scheduler: schedulerConfig(loadConfig(SchedulerEnvSchema, { SCHEDULER_TICK: '1s' })),
    runner: runnerConfig(loadConfig(RunnerEnvSchema, { HTTP_ALLOW_CIDRS: '127.0.0.1/32', SECRETS_KEY })),
  });
  return {
    url: `http://127.0.0.1:${system.port}`,
    store,
    async stop() {
      await system.stop();
      await bus.close();
      await store.close();
    },
  };
}

/** What the page said on its console that a person would call an error. */
export interface ConsoleWatch {
  errors: string[];
}

export function watchConsole(page: Page): ConsoleWatch {
  const watch: ConsoleWatch = { errors: [] };
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') watch.errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (err) => watch.errors.push(`uncaught: ${err.message}`));
  return watch;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * axe-core's WCAG 2.x A/AA rules on the page as it is. Evaluated through the DevTools
 * protocol (like a console), so the page's CSP, which refuses injected scripts, stays on.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
}

export const WIDTHS = [390, 1440] as const;

/** Full-page screenshots of the page at both widths, into `test-results/screenshots/<name>-<width>.png`. */
export async function screenshots(page: Page, name: string): Promise<void> {
  const dir = join(RESULTS_DIR, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const before = page.viewportSize();
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
    await page.waitForTimeout(150); // let the chart and layout settle at the new width
    await page.screenshot({ path: join(dir, `${name}-${width}.png`), fullPage: true });
  }
  if (before) await page.setViewportSize(before);
}

export type { Browser, BrowserContext, Page };
