import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { issueAccessToken, mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import { consoleDirectory } from '../apps/orchestrator/src/console/console-assets';
import { CodegenFake, GithubFake } from './fakes';
import {
  closeDb,
  CODEGEN_TOKEN,
  db,
  deliver,
  example,
  exampleRepositories,
  RunningOrchestrator,
  RunningWorker,
  startOrchestrator,
  startWorker,
  taskRows,
  testEnv,
  waitFor,
} from './support/harness';

/**
 * The operator console in a real browser: Debian's Chromium driven by playwright-core (its own
 * browser download is not used). CHROMIUM_PATH overrides where the browser is; under CI a missing
 * browser fails the suite, elsewhere it is skipped with the reason printed.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = Boolean(process.env.CI);
if (!HAVE_CHROMIUM && !IN_CI) {
  process.stderr.write(
    `console browser tests skipped: no Chromium at ${CHROMIUM} (install the chromium package or set CHROMIUM_PATH)\n`,
  );
}
const describeInBrowser = HAVE_CHROMIUM || IN_CI ? describe : describe.skip;

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_console`;
const SECRET_KEY = testEnv().SECRET_KEY as string;
const ARTIFACTS = join(__dirname, 'artifacts');
const viewerToken = mintAccessToken(SECRET_KEY, { sub: 'vera', role: Role.Viewer }, 600);
const operatorToken = mintAccessToken(SECRET_KEY, { sub: 'otto', role: Role.Operator }, 600);

/** Console messages Chrome logs for answers a test provokes on purpose (a refused token). */
const UNAUTHORIZED_FETCH = /Failed to load resource: the server responded with a status of 401/;

interface Watched {
  page: Page;
  /** Console errors and warnings, page errors, CSP violations and dialogs: must stay empty. */
  problems: string[];
}

function pullRequest(number: number, sha: string) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.action = 'opened';
  payload.pull_request.number = number;
  payload.number = number;
  payload.pull_request.head.sha = sha;
  payload.pull_request.draft = false;
  return payload;
}

describeInBrowser('operator console in a browser', () => {
  let github: GithubFake;
  let codegen: CodegenFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let context: BrowserContext;
  let profile: string;
  let repo: string;
  /** A PR delivery whose analysis completed and started an agent run. */
  let good: { deliveryId: string; eventId: number };
  /** A PR delivery whose analysis failed (GitHub answered 404 for its files). */
  let bad: { deliveryId: string; eventId: number; taskId: string };

  async function open(allow: RegExp[] = []): Promise<Watched> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      const text = message.text();
      if (message.type() !== 'error' && message.type() !== 'warning') return;
      if (allow.some((pattern) => pattern.test(text))) return;
      problems.push(`${message.type()}: ${text}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // An alert() would mean payload text ran as code.
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    page.on('request', (request) => {
      if (!request.url().startsWith(orch.url) && !request.url().startsWith('data:')) {
        problems.push(`request to another origin: ${request.url()}`);
      }
    });
    return { page, problems };
  }

  async function signIn(page: Page, token: string, path = '/console'): Promise<void> {
    await page.goto(orch.url + path);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function finishAll(): Promise<void> {
    await waitFor(
      async () => (await taskRows("status IN ('pending', 'queued', 'running')")).length === 0,
      { what: 'every task to end', timeoutMs: 20_000 },
    );
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`,
      );
    }
    if (consoleDirectory() === null) {
      throw new Error('the console is not built: run npm run build first (npm test does)');
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    github = await GithubFake.start();
    codegen = await CodegenFake.start({
      token: CODEGEN_TOKEN,
      repositories: exampleRepositories(),
    });
    codegen.setAutoComplete(1);
    const limits = { API_RATE_LIMIT_PER_MINUTE: '100000', API_RATE_LIMIT_BURST: '10000' };
    orch = await startOrchestrator({
      QUEUE_PREFIX: PREFIX,
      WEBHOOK_MAX_PAYLOAD_SIZE: String(3 * 1024 * 1024),
      ...limits,
    });
    worker = await startWorker({
      QUEUE_PREFIX: PREFIX,
      GITHUB_API_URL: github.url,
      CODEGEN_BASE_URL: codegen.url,
      CODEGEN_TOKEN,
      GITHUB_TIMEOUT_MS: '2000',
      CODEGEN_POLL_INTERVAL_MS: '100',
      CODEGEN_POLL_MAX_INTERVAL_MS: '200',
    });
    repo = example('pull_request').repository.full_name;
    github.setPullRequest(repo, 7, { headSha: 'a'.repeat(40) });
    github.setPullRequestFiles(repo, 7, [
      { filename: 'src/main.py' },
      { filename: 'tests/test_main.py' },
    ]);
    const ok = await deliver(orch.url, 'pull_request', pullRequest(7, 'a'.repeat(40)));
    expect(ok.status).toBe(200);
    // PR 21 is unknown to the GitHub fake: its files answer 404, a permanent failure.
    const failing = await deliver(orch.url, 'pull_request', pullRequest(21, 'e'.repeat(40)));
    expect(failing.status).toBe(200);
    await finishAll();
    const events = await db().query<{ id: string; delivery_id: string }>(
      'SELECT id, delivery_id FROM webhook_events ORDER BY id',
    );
    const eventId = (deliveryId: string): number =>
      Number(events.rows.find((r) => r.delivery_id === deliveryId)?.id);
    good = { deliveryId: ok.deliveryId, eventId: eventId(ok.deliveryId) };
    bad = {
      deliveryId: failing.deliveryId,
      eventId: eventId(failing.deliveryId),
      taskId: failing.body.result.task_id,
    };
    const [failedTask] = await taskRows('task_id = $1', [bad.taskId]);
    expect(failedTask.status).toBe('failed');

    profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: orch.url });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await worker?.close();
    await orch?.close();
    await github?.stop();
    await codegen?.stop();
    await closeDb();
  });

  it('serves the console from the orchestrator alone: under 200 KB, cached assets, strict CSP', async () => {
    const { page, problems } = await open();
    const shell = await page.goto(`${orch.url}/console/deliveries/${good.eventId}`);
    const csp = shell?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toContain('unsafe-inline');
    expect(shell?.headers()['cache-control']).toBe('no-cache');
    // No session yet: the deep link leads to sign-in, which keeps where it was going.
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).searchParams.get('next')).toBe(
      `/console/deliveries/${good.eventId}`,
    );
    expect(await page.locator('pre', { hasText: 'npm run token' }).textContent()).toContain(
      '--role operator',
    );

    // What the browser itself counted on the wire (headers included) for the page and its files.
    const resources = await page.evaluate<Array<{ name: string; bytes: number }>>(
      `[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
         .map((e) => ({ name: e.name, bytes: e.transferSize }))`,
    );
    const total = resources.reduce((sum, r) => sum + r.bytes, 0);
    process.stdout.write(`console first load: ${resources.length} requests, ${total} bytes\n`);
    expect(resources.length).toBeGreaterThan(5);
    expect(resources.every((r) => r.name.startsWith(orch.url))).toBe(true);
    expect(total).toBeGreaterThan(10_000);
    expect(total).toBeLessThan(200 * 1024);

    const asset = resources.find((r) => r.name.endsWith('/main.js'));
    const answer = await fetch(asset!.name);
    expect(answer.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(answer.headers.get('content-type')).toContain('text/javascript');
    // Another version, or a path that climbs out of the folder, is not served.
    expect((await fetch(asset!.name.replace(/assets\/[0-9a-f]+\//, 'assets/0123/'))).status).toBe(
      404,
    );
    expect((await fetch(`${orch.url}/console/assets/x/..%2f..%2fpackage.json`)).status).toBe(404);
    await shot(page, 'sign-in');
    expect(problems).toEqual([]);

    // Trusted Types are enforced: even code on the page cannot hand a string to innerHTML, and
    // the violation is reported where the other tests look for problems.
    const sink = await page.evaluate<string>(
      `(() => { try { document.createElement('div').innerHTML = '<b>x</b>'; return 'assigned'; }
                catch (e) { return e.name; } })()`,
    );
    expect(sink).toBe('TypeError');
    await waitFor(async () => problems.some((p) => /TrustedHTML/.test(p)), {
      what: 'the Trusted Types violation to be reported',
    });
    await page.close();
  });

  it('refuses a bad token with a clear message and keeps nothing', async () => {
    const { page, problems } = await open([UNAUTHORIZED_FETCH]);
    await signIn(page, 'not a token');
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'That is not an API token',
    );
    const forged = mintAccessToken(
      'another-secret-key-0123456789abcdef0123',
      { sub: 'eve', role: Role.Operator },
      600,
    );
    await page.getByLabel('API token').fill(forged);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This token was refused').waitFor();
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    expect(await page.locator('#nav').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a viewer the delivery list and its story, with the actions disabled and why', async () => {
    const { page, problems } = await open();
    await signIn(page, viewerToken);
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    expect(await page.getByTestId('role').textContent()).toBe('viewer');
    expect(await page.locator('.session .expiry').textContent()).toMatch(/expires \S/);
    expect(await page.evaluate<number>('Object.keys(sessionStorage).length')).toBeGreaterThan(0);
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);

    // Both deliveries, newest first, with what routing made of them and how it went.
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).textContent()).toContain('1 failed');
    expect(await rows.nth(1).textContent()).toContain('completed');
    expect(await rows.nth(1).textContent()).toContain(
      '2 tasks: codegen_trigger, pull_request_analysis',
    );
    expect(await rows.nth(1).textContent()).toContain(repo);
    await shot(page, 'deliveries');

    // Filters are in the URL: failed deliveries only.
    await page.getByLabel('Failed').selectOption('true');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/failed=true/);
    await waitFor(
      async () =>
        (await rows.count()) === 1 && (await rows.first().textContent())?.includes('1 failed'),
      { what: 'failed filter' },
    );

    // Keyboard: the filtered row's link opens the story.
    await page.locator('tbody a').first().focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('delivery-id').waitFor();
    expect(await page.getByTestId('delivery-id').textContent()).toBe(bad.deliveryId);
    expect(page.url()).toBe(`${orch.url}/console/deliveries/${bad.eventId}`);

    const reprocess = page.locator('button[data-action="reprocess"]');
    expect(await reprocess.isDisabled()).toBe(true);
    expect(await page.locator('#reprocess-reason').textContent()).toContain(
      'Needs the operator role',
    );
    const retry = page.locator(`[data-task-id="${bad.taskId}"] button[data-action="retry"]`);
    expect(await retry.isDisabled()).toBe(true);
    expect(await page.locator(`[data-task-id="${bad.taskId}"] .reason`).textContent()).toContain(
      'Needs the operator role',
    );
    expect(await page.getByText('Audit records are shown to operators only').count()).toBe(1);

    // The successful delivery's story: the analysis, its agent run, and each one's execution.
    await page.goto(`${orch.url}/console/deliveries/${good.deliveryId}`);
    await page.getByTestId('delivery-id').waitFor();
    const tasks = page.locator('article.task');
    expect(await tasks.count()).toBe(2);
    const analysis = tasks.filter({ hasText: 'pull_request_analysis' });
    expect(await analysis.locator('.badge').first().textContent()).toBe('completed');
    const executions = analysis.locator('table.executions tbody tr');
    expect(await executions.count()).toBe(1);
    expect(await executions.first().textContent()).toContain('completed');
    const trigger = tasks.filter({ hasText: 'codegen_trigger' });
    expect(await trigger.locator('.agent-run').textContent()).toContain('run 1');
    expect(await trigger.locator('.agent-run a').first().getAttribute('href')).toMatch(
      /^https?:\/\//,
    );
    expect(await page.locator('#section-headers + .facts').textContent()).toContain(
      'x-github-event',
    );
    // The payload, opened on demand, copies as indented JSON.
    await page.getByText('Show the payload').click();
    await page.getByRole('button', { name: 'Copy JSON' }).click();
    await page.getByText(/^Copied [\d,]+ characters\.$/).waitFor();
    const copied = JSON.parse(await page.evaluate<string>('navigator.clipboard.readText()'));
    expect(copied.pull_request.number).toBe(7);
    await shot(page, 'delivery');
    // On a phone the page reflows: nothing wider than the screen but the tables' own scroll boxes.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(
      await page.evaluate<boolean>(
        'document.documentElement.scrollWidth <= document.documentElement.clientWidth',
      ),
    ).toBe(true);
    await shot(page, 'delivery-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
    if (process.env.UPDATE_DOCS_SCREENSHOT) {
      await page.setViewportSize({ width: 1000, height: 760 });
      await page.screenshot({ path: join(__dirname, '..', 'docs', 'console-delivery.png') });
      await page.setViewportSize({ width: 1280, height: 900 });
    }

    for (const [section, heading] of [
      ['tasks', 'Tasks'],
      ['agent-runs', 'Agent runs'],
      ['health', 'Health'],
    ]) {
      await page.getByRole('link', { name: heading, exact: true }).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      if (section !== 'health') await page.locator('tbody tr').first().waitFor();
      await shot(page, section);
    }
    expect(await page.locator('[data-check="database"] .check-status').textContent()).toBe(
      'healthy',
    );
    expect(await page.locator('.lights .light').count()).toBe(5);
    await page.getByRole('link', { name: 'Agent runs', exact: true }).click();
    await page.locator('.results tbody tr').first().waitFor();
    expect(await page.locator('.results tbody tr').count()).toBe(1);
    expect(await page.locator('.results tbody tr').first().textContent()).toContain('completed');
    // Today's budget: the one run counted against its repository.
    await page.locator('.budget table').waitFor();
    expect(await page.locator('.budget tbody tr').first().textContent()).toContain(
      `${repo.toLowerCase()}1`,
    );

    // Signing out forgets the token; the console is back at sign-in.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    expect(await page.locator('#session').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('lets an operator reprocess a delivery and retry a task, after confirming what will happen', async () => {
    const { page, problems } = await open();
    // A pasted link survives the sign-in.
    await signIn(page, operatorToken, `/console/deliveries/${bad.deliveryId}`);
    await page.getByTestId('delivery-id').waitFor();
    expect(await page.getByTestId('role').textContent()).toBe('operator');

    const retry = page.locator(`[data-task-id="${bad.taskId}"] button[data-action="retry"]`);
    expect(await retry.isEnabled()).toBe(true);
    await retry.click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('goes back to pending and through the queue');
    // Cancel changes nothing.
    await page.keyboard.press('Escape');
    expect(await dialog.isHidden()).toBe(true);
    expect((await taskRows('task_id = $1', [bad.taskId]))[0].status).toBe('failed');

    // By keyboard: the dialog opens on Cancel (the safe choice); Tab reaches Retry.
    await retry.focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Cancel');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Retry');
    await page.keyboard.press('Enter');
    await page.getByText(`Task ${bad.taskId} queued again.`).waitFor();
    const [retried] = await taskRows('task_id = $1', [bad.taskId]);
    await waitFor(
      async () =>
        (await db().query('SELECT 1 FROM task_executions WHERE task_id = $1', [retried.id]))
          .rowCount === 2,
      { what: 'the retried task to run again' },
    );
    await finishAll();

    const reprocess = page.locator('button[data-action="reprocess"]');
    await reprocess.click();
    expect(await dialog.textContent()).toContain(
      'creates and queues new tasks: pull_request_analysis',
    );
    expect(await dialog.textContent()).toContain('stay as they are');
    await dialog.getByRole('button', { name: 'Reprocess' }).click();
    await page.getByText('Reprocessing: 1 new task(s) queued.').waitFor();
    await finishAll();
    expect(await taskRows('webhook_event_id = $1', [bad.eventId])).toHaveLength(2);

    // The story now shows both rounds, the retried task's second attempt and the audit trail.
    await page.reload();
    await page.getByTestId('delivery-id').waitFor();
    expect(await page.locator('article.task').count()).toBe(2);
    expect(
      await page.locator(`[data-task-id="${bad.taskId}"] table.executions tbody tr`).count(),
    ).toBe(2);
    const audit = page.locator('#section-audit-records').locator('xpath=..');
    await waitFor(async () => (await audit.locator('tbody tr').count()) === 2, {
      what: 'audit rows',
    });
    expect(await audit.textContent()).toContain('admin.event_reprocess');
    expect(await audit.textContent()).toContain('admin.task_retry');
    expect(await audit.textContent()).toContain('otto (operator)');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('returns to sign-in with a message when the token expires mid-session', async () => {
    const { page, problems } = await open([UNAUTHORIZED_FETCH]);
    await signIn(page, viewerToken);
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    // The session's token runs out while the page is open (swapped for one already expired, so
    // the test does not depend on how long a loaded machine takes to sign in).
    const expired = mintAccessToken(SECRET_KEY, { sub: 'vera', role: Role.Viewer }, 1);
    await new Promise((r) => setTimeout(r, 1_100));
    await page.evaluate(
      `sessionStorage.setItem('orchestrator-console.token', ${JSON.stringify(expired)})`,
    );
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.locator('#notice').textContent()).toContain('no longer accepts your token');
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    // Signing in again goes back to where the operator was.
    await page.getByLabel('API token').fill(viewerToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('returns to sign-in with a message when an operator revokes the token mid-session', async () => {
    const { page, problems } = await open([UNAUTHORIZED_FETCH]);
    const issued = issueAccessToken(SECRET_KEY, { sub: 'rita', role: Role.Viewer }, 600);
    await signIn(page, issued.token);
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    expect(await page.locator('.session .who').getAttribute('title')).toBe(`token id ${issued.id}`);
    const revoked = await fetch(`${orch.url}/api/v1/admin/tokens/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token_id: issued.id }),
    });
    expect(revoked.status).toBe(200);
    await page.getByRole('link', { name: 'Agent runs', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.locator('#notice').textContent()).toContain('no longer accepts your token');
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    // The revoked token cannot sign in again either.
    await page.getByLabel('API token').fill(issued.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This token was refused').waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('pages through deliveries 25 at a time, newest first, with the page in the URL', async () => {
    const sent: string[] = [];
    for (let i = 0; i < 26; i++) {
      const ping = await deliver(orch.url, 'ping', { zen: `zen ${i}`, hook_id: i });
      sent.push(ping.deliveryId);
    }
    const { page, problems } = await open();
    await signIn(page, viewerToken, '/console/deliveries?event_type=ping');
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(25);
    expect(await rows.first().locator('a').getAttribute('title')).toBe(sent[25]);
    expect(await page.locator('.pager').textContent()).toContain('Rows 1–25');
    await page.getByRole('link', { name: 'Older →' }).click();
    await page.waitForURL(/offset=25/);
    await page.locator('.pager', { hasText: 'Rows 26–26' }).waitFor();
    expect(await rows.first().locator('a').getAttribute('title')).toBe(sent[0]);
    expect(await page.locator('.pager .disabled').textContent()).toBe('Older →');
    await page.getByRole('link', { name: '← Newer' }).click();
    await page.locator('.pager', { hasText: 'Rows 1–25' }).waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders hostile payloads as text, lazily, without freezing', async () => {
    const markup = '<img src=x onerror=alert(1)><script>alert(2)</script><b>bold</b>';
    let deep: unknown = { bottom: markup };
    for (let i = 0; i < 400; i++) deep = { level: deep };
    const odd =
      'RTL \u202Eevil\u202C · zero\u200Bwidth · combining e\u0301\u0301\u0301 · 🧨👩‍👩‍👧 · \uFEFF · 𝔘𝔫𝔦𝔠𝔬𝔡𝔢';
    const payload = {
      action: markup,
      repository: { full_name: 'octo-org/app' },
      sender: { login: markup },
      title: markup,
      odd,
      deep,
      big: 'x'.repeat(1024 * 1024),
      many: Array.from({ length: 5000 }, (_, i) => ({ i, text: markup })),
    };
    const res = await deliver(orch.url, 'issues', payload, {
      headers: { 'x-github-hook-installation-target-type': markup },
    });
    expect(res.status).toBe(200);
    const { rows } = await db().query<{ id: string }>(
      'SELECT id FROM webhook_events WHERE delivery_id = $1',
      [res.deliveryId],
    );

    const { page, problems } = await open();
    await signIn(page, viewerToken, `/console/deliveries/${rows[0].id}`);
    const started = Date.now();
    await page.getByTestId('delivery-id').waitFor();
    await page.getByText('Show the payload').click();
    await page.locator('.json-tree').waitFor();
    // Markup from the payload is shown as the characters it is, never as elements.
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    expect(await page.locator('.json-tree').textContent()).toContain(JSON.stringify(markup));
    // The 1 MiB string is cut, 5000 items come 100 at a time, the deep value opens level by level.
    const big = page.locator('.json-leaf', {
      has: page.locator('.json-key', { hasText: /^big$/ }),
    });
    expect((await big.textContent())!.length).toBeLessThan(1000);
    const many = page
      .locator('details.json-node > summary', { hasText: /^many/ })
      .locator('xpath=..');
    await many.locator(':scope > summary').click();
    // The children are built on the toggle event, after the click returns: wait for the page.
    await many.locator(':scope > .json-children > details').nth(99).waitFor();
    expect(await many.locator(':scope > .json-children > details').count()).toBe(100);
    expect(await many.getByRole('button', { name: 'Show 100 more of 4900' }).count()).toBe(1);
    await page.locator('summary', { hasText: /^deep/ }).click();
    expect(await page.locator('.json-tree details').count()).toBeLessThan(300);
    expect(await page.locator('.json-tree').textContent()).toContain(odd);
    // The whole text is there on request, and the page still answers.
    await big.getByRole('button', { name: /show all/ }).click();
    await page.getByRole('button', { name: 'Show as text' }).click();
    await page.locator('pre.json-text').waitFor();
    expect(
      await page.evaluate<number>("document.querySelectorAll('script:not([src])').length"),
    ).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    await shot(page, 'hostile-payload');
    expect(problems).toEqual([]);
    await page.close();
  });
});
