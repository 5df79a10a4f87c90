// The dashboard driven as a person would, in Debian's Chromium, against the real services
// (the embedded mode in this process): through the UI only.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browserTier, FlakyServer } from '@wf/shared/testing';
import { chromium } from 'playwright-core';
import { axeViolations, BUILD_DIR, CHROMIUM_ARGS, screenshots, startDashboard, watchConsole, type Browser, type ConsoleWatch, type Dashboard, type Page } from './dashboard.js';

const tier = browserTier();
const PASSWORD = 'correct horse battery staple';

describe('the dashboard in Chromium', { skip: tier.skip, timeout: 180_000 }, () => {
  let dashboard: Dashboard;
  let flaky: FlakyServer;
  let browser: Browser;
  let page: Page;
  let console: ConsoleWatch;
  /** Errors the scenarios cause on purpose (an API answer the page shows as a message), as patterns. */
  const expectedErrors: RegExp[] = [];
  const accessibility = new Map<string, string[]>();
  let firstRunId = '';

  /** axe on the page as it stands: serious and critical violations are kept for the last test. */
  const audit = async (name: string) => {
    const violations = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
    accessibility.set(name, violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`));
  };
  const visit = async (name: string) => {
    await audit(name);
    await screenshots(page, name);
  };
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });

  before(async () => {
    assert.ok(existsSync(join(BUILD_DIR, 'index.html')), `build the dashboard first (npm run build): ${BUILD_DIR} has no index.html`);
    dashboard = await startDashboard();
    flaky = await new FlakyServer().start();
    browser = await chromium.launch({ executablePath: tier.url!, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(30_000); // bounded, and generous: CI machines are shared
    console = watchConsole(page);
  });
  after(async () => {
    await browser?.close();
    await flaky?.stop();
    await dashboard?.stop();
  });

  test('signs up; creates a manual workflow with the form; runs it with a payload; reads the rendered message live', async (t) => {
    await page.goto(dashboard.url);
    await page.waitForURL(/\/login\?next=/);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    // Reported, not asserted (a shared CI machine's speed is no property of the code).
    const interactiveMs = await page.evaluate(() => Math.round(performance.getEntriesByName('dashboard:interactive')[0]?.startTime ?? -1));
    t.diagnostic(`first page interactive (login form mounted) ${interactiveMs} ms after navigation started`);
    await visit('login');
    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByText('Live', { exact: true }).waitFor();
    // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');

    await nav('Workflows').click();
    await page.getByRole('link', { name: 'New workflow' }).click();
    await page.getByLabel('Id').fill('say-hello');
    await page.getByLabel('Name').fill('Say hello');
    await page.getByLabel('Message').fill('hello {{trigger.payload.name}}');
    await visit('editor');
    await page.getByRole('button', { name: 'Create workflow' }).click();

    await page.getByRole('heading', { name: 'Say hello' }).waitFor();
    await page.getByLabel('Payload (JSON object, optional)').fill('{"name": "Ada"}');
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    firstRunId = page.url().split('/').at(-1)!;
    await page.locator('h1 .badge', { hasText: 'completed' }).waitFor();
    await page.getByLabel('Output of step 1').filter({ hasText: '"message": "hello Ada"' }).waitFor();
    await visit('run');
  });

  test('an http-request that fails twice: the attempts and the retry countdown appear live, then the success', async () => {
    const url = flaky.script('/flaky', 2);
    await nav('Workflows').click();
    await page.getByRole('link', { name: 'New workflow' }).click();
    await page.getByLabel('Id').fill('flaky-call');
    await page.getByLabel('Type', { exact: true }).first().selectOption('manual');
    await page.getByLabel('Type', { exact: true }).nth(1).selectOption('http-request');
    await page.getByLabel('URL').fill(url);
    await page.getByLabel('Retries at most').fill('3');
    await page.getByLabel('First delay (ms)').fill('3000');
    await page.getByLabel('Longest delay (ms)').fill('10000');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.getByRole('heading', { name: 'flaky-call' }).waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/runs\//);

    // Nothing polls a run that waits for its retry: these changes reach the page through GET /events.
    const countdown = page.getByRole('timer');
    const attempts = page.getByRole('list', { name: 'Attempts, oldest first' }).locator(':scope > li');
    const attemptHeadings = () => attempts.locator(':scope > h3').allTextContents();
    await countdown.filter({ hasText: /Attempt 1 failed\. Attempt 2 starts in \d+:\d\d/ }).waitFor();
    await page.getByText('1 of at most 4').waitFor();
    assert.deepEqual(await attemptHeadings(), ['Attempt 1 waiting for retry'], 'the failed attempt is the current one while its retry waits');
    await attempts.first().getByText(/Last error: step 0 \(http-request\) failed: HTTP 500/).waitFor();
    await screenshots(page, 'run-retrying');
    await countdown.filter({ hasText: /Attempt 2 failed\. Attempt 3 starts in \d+:\d\d/ }).waitFor();
    // Live, before the success: the first attempt has moved into the history with its error and its failed step.
    assert.deepEqual(await attemptHeadings(), ['Attempt 1 failed, retried', 'Attempt 2 waiting for retry']);
    await attempts.nth(0).getByText(/^Error: step 0 \(http-request\) failed: HTTP 500/).waitFor();
    await attempts.nth(0).locator('.step-failed').getByText('Error: HTTP 500').waitFor();
    await attempts.nth(1).getByText(/Last error: step 0 \(http-request\) failed: HTTP 500/).waitFor();
    await page.locator('h1 .badge', { hasText: 'completed' }).waitFor({ timeout: 30_000 });
    await page.getByText('3 of at most 4').waitFor();
    assert.deepEqual(await attemptHeadings(), ['Attempt 1 failed, retried', 'Attempt 2 failed, retried', 'Attempt 3 completed']);
    for (const earlier of [0, 1]) await attempts.nth(earlier).getByText(/^Error: step 0 \(http-request\) failed: HTTP 500/).waitFor();
    await screenshots(page, 'run-retried');
    await page.getByText(/^Output of step 1 \(\d+ lines\)$/).click(); // a long output comes folded
    await page.getByLabel('Output of step 1').filter({ hasText: '"status": 200' }).waitFor();
    assert.equal(flaky.hits.get('/flaky'), 3);

    await nav('Workflows').click();
    await page.getByRole('link', { name: 'flaky-call' }).waitFor();
    await page.getByRole('list', { name: /last 1 runs/ }).first().waitFor();
    await visit('workflows');
    await page.getByLabel('Find by id').fill('fla');
    await page.getByRole('link', { name: 'say-hello' }).waitFor({ state: 'detached' });
    await page.getByLabel('Find by id').fill('');
    await page.getByRole('link', { name: 'flaky-call' }).click();
    await visit('workflow');
    await nav('Runs').click();
    await page.getByRole('link', { name: 'say-hello' }).waitFor();
    await visit('runs');
    await nav('Overview').click();
    await page.getByText('Busiest workflows').waitFor();
    await visit('overview');
  });

  test('a run with a request in flight is cancelled from its page; then re-run from the start as a new run linked to it', async () => {
    const url = flaky.script('/hang/ui', 0);
    await nav('Workflows').click();
    await page.getByRole('link', { name: 'New workflow' }).click();
    await page.getByLabel('Id').fill('cancel-me');
    await page.getByLabel('Type', { exact: true }).first().selectOption('manual');
    await page.getByLabel('Type', { exact: true }).nth(1).selectOption('http-request');
    await page.getByLabel('URL').fill(url);
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.getByRole('heading', { name: 'cancel-me' }).waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/runs\//);
    const first = page.url();
    await page.locator('h1 .badge', { hasText: 'running' }).waitFor();
    await page.getByRole('button', { name: 'Re-run from the start' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('h1 .badge', { hasText: 'cancelled' }).waitFor();
    await page.getByText('cancelled while running').waitFor();
    await visit('run-cancelled');
    await page.getByRole('button', { name: 'Cancel' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Re-run from the failed step' }).waitFor();

    await page.getByRole('button', { name: 'Re-run from the start' }).click();
    await page.waitForURL((u) => u.toString() !== first && /\/runs\//.test(u.toString()));
    await page.getByText('Re-run of').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click(); // queued or already running: cancelled either way
    await page.locator('h1 .badge', { hasText: 'cancelled' }).waitFor();
    assert.ok((flaky.hits.get('/hang/ui') ?? 0) >= 1);
  });

  test('a webhook workflow: its secret shown once, a curl command that works and copies as shown; rotating shows a new secret and retires the old one', async () => {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: dashboard.url });
    await nav('Workflows').click();
    await page.getByRole('link', { name: 'New workflow' }).click();
    await page.getByLabel('Id').fill('on-hook');
    await page.getByLabel('Type', { exact: true }).first().selectOption('webhook');
    await page.getByLabel('Message').fill('hook says {{trigger.payload.hello}}');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.getByRole('heading', { name: 'on-hook' }).waitFor();

    const panel = page.getByRole('region', { name: 'Webhook' });
    const shownSecret = panel.getByRole('status').locator('code');
    const curlText = async () => (await panel.locator('pre').textContent()) ?? '';
    const url = (await panel.locator('p', { hasText: 'URL:' }).locator('code').textContent()) ?? '';
    assert.match(url, new RegExp(`^${dashboard.url}/hooks/[\\w-]+$`));
    const secret = (await shownSecret.textContent()) ?? '';
    assert.ok(secret.length >= 16, `a secret is shown after creation: "${secret}"`);
    assert.ok((await curlText()).includes(`'${url}'`) && (await curlText()).includes(`x-hook-secret: ${secret}`), 'the curl command carries the URL and the secret');
    await panel.getByRole('button', { name: 'Copy the curl command' }).click();
    await panel.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await curlText(), 'the clipboard holds the command as shown');
    await visit('webhook');

    // What the curl command does, sent from outside: the run it starts reaches the page live.
    const fire = (withSecret: string) => fetch(url, { method: 'POST', headers: { 'x-hook-secret': withSecret, 'content-type': 'application/json' }, body: '{"hello": "world"}' });
    assert.equal((await fire(secret)).status, 202);
    const runs = page.getByRole('table');
    await runs.locator('.badge', { hasText: 'completed' }).waitFor();

    await panel.getByRole('button', { name: 'Rotate the secret' }).click();
    await shownSecret.filter({ hasNotText: secret }).waitFor();
    const rotated = (await shownSecret.textContent()) ?? '';
    assert.ok(rotated.length >= 16 && rotated !== secret, 'a new secret is shown');
    assert.ok((await curlText()).includes(`x-hook-secret: ${rotated}`), 'the curl command follows it');
    assert.equal((await fire(secret)).status, 404, 'the old secret no longer works');
    assert.equal((await fire(rotated)).status, 202);
    await runs.locator('.badge', { hasText: 'completed' }).nth(1).waitFor();

    // Shown once: back on the page later, the secret is gone and the command has a placeholder.
    await nav('Workflows').click();
    await page.getByRole('link', { name: 'on-hook' }).click();
    await panel.getByText(/The secret was shown once/).waitFor();
    assert.equal(await panel.getByRole('status').count(), 0);
    assert.ok((await curlText()).includes('x-hook-secret: <your secret>'));
  });

  test('a run parked at a delay shows its countdown live, then resumes and completes', async () => {
    await nav('Workflows').click();
    await page.getByRole('link', { name: 'New workflow' }).click();
    await page.getByLabel('Id').fill('wait-a-bit');
    await page.getByLabel('Type', { exact: true }).first().selectOption('manual');
    await page.getByLabel('Type', { exact: true }).nth(1).selectOption('delay');
    await page.getByLabel('Wait for').fill('4s');
    await page.getByRole('button', { name: 'Add a log action' }).click();
    await page.getByLabel('Message').fill('after the wait');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.getByRole('heading', { name: 'wait-a-bit' }).waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/runs\//);
    // Its ExecutionWaiting event brings the wait to the page (nothing polls a run).
    await page.getByRole('timer').filter({ hasText: /Waiting at a delay until .+: resumes in \d+:\d\d/ }).waitFor({ timeout: 3_000 });
    await page.locator('h1 .badge', { hasText: 'waiting (delay)' }).waitFor();
    await page.locator('h1 .badge', { hasText: 'completed' }).waitFor({ timeout: 20_000 });
    await page.getByLabel('Output of step 2').filter({ hasText: 'after the wait' }).waitFor();
  });

  test('editing a workflow into an invalid state shows the errors on their fields and saves nothing', async () => {
    await nav('Workflows').click();
    await page.getByRole('link', { name: 'say-hello' }).click();
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Message').fill('');
    await page.getByLabel('Type', { exact: true }).first().selectOption('periodic');
    await page.getByLabel('Every').fill('ten seconds');
    // Checked as typed, against the schema the API publishes.
    await page.getByText('Message: is required').waitFor();
    await page.getByText(/^Every: /).waitFor();
    await page.getByLabel('Message').fill('still {{trigger.payload.name}}');
    await page.getByLabel('Every').fill('10s');
    // What only the server knows (a URL that is not http) comes back as its 400 and lands on the field.
    await page.getByRole('button', { name: 'Add an HTTP request' }).click();
    await page.getByLabel('URL').fill('ftp://files.example.com/report');
    expectedErrors.push(/status of 400/);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/^URL: must be an http\(s\) URL/).waitFor();
    await page.getByText('The API refused the workflow').waitFor();
    await visit('editor-errors');

    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Say hello' }).waitFor();
    const facts = page.locator('dl.facts');
    await facts.getByText('manual', { exact: true }).waitFor();
    assert.equal(await facts.locator('dt:has-text("Version") + dd').textContent(), '1', 'nothing was saved');
  });

  test("a second user sees none of the first user's workflows or runs", async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.getByLabel('Email').fill('grace@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByText('None.').first().waitFor();
    await nav('Workflows').click();
    await page.getByText('No workflows yet.').waitFor();
    await nav('Runs').click();
    await page.getByText('No runs match.').waitFor();
    expectedErrors.push(/status of 404/);
    await page.goto(`${dashboard.url}/runs/${firstRunId}`);
    await page.getByText(/not found/).waitFor();
  });

  test('a wrong password and an ended session say so, and logging in again returns to the page', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('not the password');
    expectedErrors.push(/status of 401/);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong email or password.').waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();

    // The session ends elsewhere (another tab logs out): the next call finds it gone.
    await page.goto(`${dashboard.url}/flows/say-hello`);
    await page.getByRole('heading', { name: 'Say hello' }).waitFor();
    await page.evaluate(() => fetch('/auth/session', { method: 'DELETE', headers: { 'x-wf-csrf': '1' } }));
    await nav('Runs').click();
    await page.getByText('Your session has ended.').waitFor();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/runs$/);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  });

  test('no serious or critical accessibility violation on any page', () => {
    assert.ok(accessibility.size >= 8, `pages audited: ${[...accessibility.keys()].join(', ')}`);
    const failing = [...accessibility].filter(([, v]) => v.length > 0);
    assert.deepEqual(failing, []);
  });

  test('no error in the browser console but the API answers the scenarios asked for', () => {
    const unexpected = console.errors.filter((e) => !expectedErrors.some((p) => p.test(e)));
    assert.deepEqual(unexpected, []);
  });
});
