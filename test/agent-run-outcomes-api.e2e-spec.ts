import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { AgentOutcome } from '@app/domain';
import { AgentRunOutcomeRepository } from '@app/persistence';
import { mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import {
  closeDb,
  db,
  RunningOrchestrator,
  startOrchestrator,
  testEnv,
  truncateAll,
} from './support/harness';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_agent_runs_api`;
const SECRET_KEY = testEnv().SECRET_KEY as string;
const viewer = mintAccessToken(SECRET_KEY, { sub: 'vera', role: Role.Viewer }, 600);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field

const DAY_MS = 86_400_000;

interface Seed {
  repository?: string;
  outcome: AgentOutcome;
  timeToGreen?: number;
  checks?: string[];
  /** How long before now the run was started. */
  ageMs?: number;
  prNumber?: number;
  followUpOf?: string;
}

/**
 * The agent-run list and summary of the operator API, over outcomes stored through the outcome
 * repository in the run's real PostgreSQL.
 */
describe('agent runs: list and summary (operator API)', () => {
  let orch: RunningOrchestrator;
  let dataSource: DataSource;
  let outcomes: AgentRunOutcomeRepository;

  beforeAll(async () => {
    orch = await startOrchestrator({
      QUEUE_PREFIX: PREFIX,
      API_RATE_LIMIT_BURST: '100000',
      API_RATE_LIMIT_PER_MINUTE: '1000000',
    });
    dataSource = new DataSource({ type: 'postgres', url: process.env.TEST_DATABASE_URL });
    await dataSource.initialize();
    outcomes = new AgentRunOutcomeRepository(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await orch.close();
    await closeDb();
  });
  beforeEach(() => truncateAll());

  async function get(path: string, token: string | null = viewer) {
    const res = await fetch(`${orch.url}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.status, body: (await res.json()) as Json };
  }

  /** One agent run: its trigger task, a pending outcome, then (unless pending) its judgement. */
  async function seed(run: Seed): Promise<string> {
    const taskId = randomUUID();
    await db().query(
      `INSERT INTO workflow_tasks (task_id, task_type, status, input_data)
       VALUES ($1, 'codegen_trigger', 'completed', '{}')`,
      [taskId],
    );
    const failedAt = new Date(Date.now() - (run.ageMs ?? 60_000) - 60_000);
    await outcomes.createPending({
      taskId,
      repository: run.repository ?? 'Octo-Org/App',
      prNumber: run.prNumber ?? 7,
      triggerKind: 'check_failure',
      checkScope: 'check_run',
      failingChecks: run.checks ?? ['test'],
      failingCheckCompletedAt: failedAt,
      headSha: 'a'.repeat(40),
      codegenRunId: String(1000 + Math.floor(Math.random() * 1000)),
      codegenStatus: 'ACTIVE',
      webUrl: 'https://codegen.com/agent/trace/1',
      followUpOf: run.followUpOf ?? null,
      followUpCount: run.followUpOf ? 1 : 0,
    });
    if (run.outcome !== 'pending') {
      const judgedAt = new Date(failedAt.getTime() + (run.timeToGreen ?? 300) * 1000);
      const change = await outcomes.judge(
        taskId,
        () => ({
          outcome: run.outcome,
          agentHeadSha: run.outcome === 'no_change' ? null : 'b'.repeat(40),
          agentPrNumbers: [],
          finishedAt: new Date(failedAt.getTime() + 30_000),
          observations: [],
          judgedSha: run.outcome === 'fixed' ? 'b'.repeat(40) : null,
          judgedAt,
          timeToGreenSeconds: run.outcome === 'fixed' ? (run.timeToGreen ?? null) : null,
          failedAgain:
            run.outcome === 'still_failing'
              ? [
                  {
                    sha: 'b'.repeat(40),
                    name: (run.checks ?? ['test'])[0],
                    conclusion: 'failure',
                    completedAt: judgedAt.toISOString(),
                    prNumbers: [run.prNumber ?? 7],
                  },
                ]
              : [],
        }),
        { status: run.outcome === 'run_failed' ? 'FAILED' : 'COMPLETE', webUrl: null },
      );
      expect(change?.after.outcome).toBe(run.outcome);
    }
    if (run.ageMs !== undefined) {
      await db().query(
        `UPDATE agent_run_outcomes SET created_at = now() - $2 * interval '1 millisecond'
         WHERE task_id = $1`,
        [taskId, run.ageMs],
      );
    }
    return taskId;
  }

  /**
   * Two repositories over the last week, and one older run outside a 7-day window. The figures
   * the tests expect are worked out by hand in their comments.
   */
  async function seedWeek(): Promise<Record<string, string>> {
    const ids: Record<string, string> = {};
    const app = 'octo-org/app';
    const api = 'octo-org/api';
    let age = 6 * DAY_MS;
    const next = () => (age -= 3_600_000);
    ids.fixed600 = await seed({
      repository: app,
      outcome: 'fixed',
      timeToGreen: 600,
      ageMs: next(),
    });
    ids.fixed1200 = await seed({
      repository: app,
      outcome: 'fixed',
      timeToGreen: 1200,
      ageMs: next(),
    });
    ids.fixed1800 = await seed({
      repository: app,
      outcome: 'fixed',
      timeToGreen: 1800,
      checks: ['lint'],
      ageMs: next(),
    });
    ids.fixed3000 = await seed({
      repository: app,
      outcome: 'fixed',
      timeToGreen: 3000,
      checks: ['test', 'lint'],
      ageMs: next(),
    });
    ids.stillFailing = await seed({ repository: app, outcome: 'still_failing', ageMs: next() });
    ids.noChange = await seed({
      repository: app,
      outcome: 'no_change',
      checks: ['lint'],
      ageMs: next(),
    });
    ids.runFailed = await seed({ repository: app, outcome: 'run_failed', ageMs: next() });
    ids.superseded = await seed({ repository: app, outcome: 'superseded', ageMs: next() });
    ids.followUp = await seed({
      repository: app,
      outcome: 'pending',
      followUpOf: ids.stillFailing,
      ageMs: next(),
    });
    ids.apiFixed = await seed({
      repository: api,
      outcome: 'fixed',
      timeToGreen: 300,
      checks: ['build'],
      prNumber: 12,
      ageMs: next(),
    });
    ids.apiStill = await seed({
      repository: api,
      outcome: 'still_failing',
      checks: ['build'],
      prNumber: 12,
      ageMs: next(),
    });
    ids.old = await seed({
      repository: app,
      outcome: 'fixed',
      timeToGreen: 99_999,
      ageMs: 30 * DAY_MS,
    });
    return ids;
  }

  describe('GET /api/v1/agent-runs', () => {
    it('lists every run newest first with what the operator needs to follow it', async () => {
      const ids = await seedWeek();
      const res = await get('/api/v1/agent-runs');
      expect(res.status).toBe(200);
      expect(res.body.map((r: Json) => r.task_id)).toEqual([
        ids.apiStill,
        ids.apiFixed,
        ids.followUp,
        ids.superseded,
        ids.runFailed,
        ids.noChange,
        ids.stillFailing,
        ids.fixed3000,
        ids.fixed1800,
        ids.fixed1200,
        ids.fixed600,
        ids.old,
      ]);
      const fixed = res.body.find((r: Json) => r.task_id === ids.fixed3000);
      expect(fixed).toEqual({
        task_id: ids.fixed3000,
        repository: 'octo-org/app',
        pr_number: 7,
        trigger_kind: 'check_failure',
        check_scope: 'check_run',
        failing_checks: ['test', 'lint'],
        head_sha: 'a'.repeat(40),
        codegen_run_id: expect.stringMatching(/^\d+$/),
        codegen_status: 'COMPLETE',
        web_url: 'https://codegen.com/agent/trace/1',
        agent_pr_numbers: [],
        outcome: 'fixed',
        still_failing_checks: [],
        time_to_green_seconds: 3000,
        follow_up_of: null,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        finished_at: expect.stringMatching(/Z$/),
        judged_at: expect.stringMatching(/Z$/),
      });
      const followUp = res.body.find((r: Json) => r.task_id === ids.followUp);
      expect(followUp).toMatchObject({
        outcome: 'pending',
        follow_up_of: ids.stillFailing,
        time_to_green_seconds: null,
        judged_at: null,
        finished_at: null,
      });
      expect(res.body.find((r: Json) => r.task_id === ids.stillFailing)).toMatchObject({
        outcome: 'still_failing',
        still_failing_checks: ['test'],
        time_to_green_seconds: null,
      });
    });

    it('filters by repository (any case), outcome and since, alone and together', async () => {
      const ids = await seedWeek();
      const ids_of = async (query: string) => {
        const res = await get(`/api/v1/agent-runs?${query}`);
        expect(res.status).toBe(200);
        return res.body.map((r: Json) => r.task_id);
      };
      expect(await ids_of('repository=Octo-Org/API')).toEqual([ids.apiStill, ids.apiFixed]);
      expect(await ids_of('outcome=still_failing')).toEqual([ids.apiStill, ids.stillFailing]);
      expect(await ids_of('outcome=fixed&repository=octo-org/app')).toEqual([
        ids.fixed3000,
        ids.fixed1800,
        ids.fixed1200,
        ids.fixed600,
        ids.old,
      ]);
      expect(await ids_of('outcome=fixed&repository=octo-org/app&since=7d')).toEqual([
        ids.fixed3000,
        ids.fixed1800,
        ids.fixed1200,
        ids.fixed600,
      ]);
      // 6 days minus 3.5 hours ago falls between the third and fourth runs of the week.
      const instant = new Date(Date.now() - 6 * DAY_MS + 3.5 * 3_600_000).toISOString();
      expect(await ids_of(`outcome=fixed&since=${encodeURIComponent(instant)}`)).toEqual([
        ids.apiFixed,
        ids.fixed3000,
      ]);
      expect(await ids_of('since=1m')).toEqual([]);
      expect(await ids_of('repository=octo-org/none')).toEqual([]);
    });

    it('pages with limit and offset like the task list', async () => {
      const ids = await seedWeek();
      const first = await get('/api/v1/agent-runs?limit=3');
      const second = await get('/api/v1/agent-runs?limit=3&offset=3');
      const last = await get('/api/v1/agent-runs?limit=3&offset=11');
      const beyond = await get('/api/v1/agent-runs?offset=12');
      expect(first.body.map((r: Json) => r.task_id)).toEqual([
        ids.apiStill,
        ids.apiFixed,
        ids.followUp,
      ]);
      expect(second.body.map((r: Json) => r.task_id)).toEqual([
        ids.superseded,
        ids.runFailed,
        ids.noChange,
      ]);
      expect(last.body.map((r: Json) => r.task_id)).toEqual([ids.old]);
      expect(beyond).toEqual({ status: 200, body: [] });
      // Default page: 50.
      for (let i = 0; i < 45; i++) await seed({ outcome: 'pending', ageMs: DAY_MS + i });
      expect((await get('/api/v1/agent-runs')).body).toHaveLength(50);
    });
  });

  describe('GET /api/v1/agent-runs/summary', () => {
    it('gives the counts, fix rate, median and p90 time to green and runs per fix of the last 7 days', async () => {
      await seedWeek();
      const res = await get('/api/v1/agent-runs/summary');
      expect(res.status).toBe(200);
      const since = Date.parse(res.body.since);
      expect(Math.abs(since - (Date.now() - 7 * DAY_MS))).toBeLessThan(60_000);
      expect(res.body.repository).toBeNull();
      // The old run (30 days) is outside. 11 runs: fixed 300, 600, 1200, 1800, 3000; judged 9
      // (superseded and pending are not); median 1200; p90 at 0.9 × 4 = 3.6 between 1800 and
      // 3000: 1800 + 0.6 × 1200 = 2520; 10 runs no longer pending / 5 fixed = 2.
      expect(res.body.overall).toEqual({
        runs: 11,
        pending: 1,
        fixed: 5,
        still_failing: 2,
        superseded: 1,
        no_change: 1,
        run_failed: 1,
        fix_rate: 0.5556,
        time_to_green_median_seconds: 1200,
        time_to_green_p90_seconds: 2520,
        runs_per_fix: 2,
      });
      expect(res.body.repository_count).toBe(2);
      // octo-org/app: 9 runs, fixed 600, 1200, 1800, 3000: 4 of 7 judged; median 1500; p90 at
      // 2.7: 1800 + 0.7 × 1200 = 2640; 8 / 4 = 2. octo-org/api: 1 of 2, 300, 300, 2 / 1.
      expect(res.body.repositories).toEqual([
        {
          repository: 'octo-org/app',
          runs: 9,
          pending: 1,
          fixed: 4,
          still_failing: 1,
          superseded: 1,
          no_change: 1,
          run_failed: 1,
          fix_rate: 0.5714,
          time_to_green_median_seconds: 1500,
          time_to_green_p90_seconds: 2640,
          runs_per_fix: 2,
        },
        {
          repository: 'octo-org/api',
          runs: 2,
          pending: 0,
          fixed: 1,
          still_failing: 1,
          superseded: 0,
          no_change: 0,
          run_failed: 0,
          fix_rate: 0.5,
          time_to_green_median_seconds: 300,
          time_to_green_p90_seconds: 300,
          runs_per_fix: 2,
        },
      ]);
      // Per check (the run sent for test and lint counts for both). test: 7 runs, fixed 600,
      // 1200, 3000 of 5 judged; median 1200; p90 at 1.8: 1200 + 0.8 × 1800 = 2640; 6 / 3.
      // lint: 3 runs, fixed 1800, 3000 of 3; median 2400; p90 at 0.9: 2880; 3 / 2.
      expect(res.body.checks).toEqual([
        {
          check: 'test',
          runs: 7,
          pending: 1,
          fixed: 3,
          still_failing: 1,
          superseded: 1,
          no_change: 0,
          run_failed: 1,
          fix_rate: 0.6,
          time_to_green_median_seconds: 1200,
          time_to_green_p90_seconds: 2640,
          runs_per_fix: 2,
        },
        {
          check: 'lint',
          runs: 3,
          pending: 0,
          fixed: 2,
          still_failing: 0,
          superseded: 0,
          no_change: 1,
          run_failed: 0,
          fix_rate: 0.6667,
          time_to_green_median_seconds: 2400,
          time_to_green_p90_seconds: 2880,
          runs_per_fix: 1.5,
        },
        {
          check: 'build',
          runs: 2,
          pending: 0,
          fixed: 1,
          still_failing: 1,
          superseded: 0,
          no_change: 0,
          run_failed: 0,
          fix_rate: 0.5,
          time_to_green_median_seconds: 300,
          time_to_green_p90_seconds: 300,
          runs_per_fix: 2,
        },
      ]);
    });

    it('narrows to one repository and to a longer or shorter window', async () => {
      await seedWeek();
      const app = await get('/api/v1/agent-runs/summary?repository=Octo-Org/App');
      expect(app.status).toBe(200);
      expect(app.body.repository).toBe('octo-org/app');
      expect(app.body.overall).toMatchObject({ runs: 9, fixed: 4, fix_rate: 0.5714 });
      expect(app.body.repositories.map((r: Json) => r.repository)).toEqual(['octo-org/app']);
      expect(app.body.checks.map((c: Json) => [c.check, c.runs])).toEqual([
        ['test', 7],
        ['lint', 3],
      ]);
      // 31 days takes the old run in: fixed 6 of 10 judged, 11 / 6 runs per fix, and its
      // 99,999 s moves the p90 (0.9 × 5 = 4.5: 3000 + 0.5 × 96,999 = 51,499.5).
      const month = await get('/api/v1/agent-runs/summary?since=31d');
      expect(month.body.overall).toMatchObject({
        runs: 12,
        fixed: 6,
        fix_rate: 0.6,
        time_to_green_median_seconds: 1500,
        time_to_green_p90_seconds: 51_499.5,
        runs_per_fix: 1.83,
      });
      const instant = new Date(Date.now() - 40 * DAY_MS).toISOString().slice(0, 10);
      expect((await get(`/api/v1/agent-runs/summary?since=${instant}`)).body.overall.runs).toBe(12);
      const hour = await get('/api/v1/agent-runs/summary?since=1h');
      expect(hour.body).toMatchObject({
        overall: {
          runs: 0,
          pending: 0,
          fixed: 0,
          fix_rate: null,
          time_to_green_median_seconds: null,
          time_to_green_p90_seconds: null,
          runs_per_fix: null,
        },
        repositories: [],
        repository_count: 0,
        checks: [],
      });
    });

    it('lists the 20 checks with the most runs', async () => {
      // check-01 has 1 run, check-02 2 runs, ... check-22 22 runs.
      for (let n = 1; n <= 22; n++) {
        const name = `check-${String(n).padStart(2, '0')}`;
        await db().query(
          `WITH t AS (
             INSERT INTO workflow_tasks (task_id, task_type, status, input_data)
             SELECT gen_random_uuid(), 'codegen_trigger', 'completed', '{}'
               FROM generate_series(1, $1::int)
             RETURNING task_id)
           INSERT INTO agent_run_outcomes (task_id, repository, trigger_kind, failing_checks, head_sha, outcome)
           SELECT task_id, 'octo-org/many', 'check_failure', ARRAY[$2::text], $3, 'no_change' FROM t`,
          [n, name, 'c'.repeat(40)],
        );
      }
      const res = await get('/api/v1/agent-runs/summary');
      expect(res.body.checks).toHaveLength(20);
      expect(res.body.checks[0]).toMatchObject({ check: 'check-22', runs: 22, fix_rate: 0 });
      expect(res.body.checks[19]).toMatchObject({ check: 'check-03', runs: 3 });
      expect(res.body.overall.runs).toBe((22 * 23) / 2);
    });
  });

  describe('access and bad input', () => {
    it('needs a token (401 in the error format) and lets a viewer read', async () => {
      for (const path of ['/api/v1/agent-runs', '/api/v1/agent-runs/summary']) {
        const anonymous = await get(path, null);
        expect(anonymous.status).toBe(401);
        expect(anonymous.body).toMatchObject({ status_code: 401, path });
        const forged = await get(
          path,
          mintAccessToken(
            'another-key-0123456789abcdef0123',
            { sub: 'x', role: Role.Operator },
            600,
          ),
        );
        expect(forged.status).toBe(401);
        expect((await get(path)).status).toBe(200);
      }
    });

    it.each([
      ['/api/v1/agent-runs?outcome=maybe', /outcome must be one of pending, fixed/],
      ['/api/v1/agent-runs?outcome=FIXED', /outcome must be one of/],
      ['/api/v1/agent-runs?since=yesterday', /since must be a look-back/],
      ['/api/v1/agent-runs?since=7w', /since must be a look-back/],
      ['/api/v1/agent-runs?since=-7d', /since must be a look-back/],
      ['/api/v1/agent-runs?since=0d', /since must look back more than 0/],
      ['/api/v1/agent-runs?since=367d', /at most 366 days/],
      ['/api/v1/agent-runs?since=2026-02-30', /since must be a valid date/],
      ['/api/v1/agent-runs?since=2026-12-01T08:00:00', /since must be a look-back/],
      ['/api/v1/agent-runs?since=2026-12-01T25:00:00Z', /since must be a valid date/],
      ['/api/v1/agent-runs?limit=0', /limit must not be less than 1/],
      ['/api/v1/agent-runs?limit=1001', /limit must not be greater than 1000/],
      ['/api/v1/agent-runs?limit=ten', /limit must be an integer/],
      ['/api/v1/agent-runs?offset=-1', /offset must not be less than 0/],
      ['/api/v1/agent-runs?repository=octo-org', /repository must look like owner\/name/],
      ["/api/v1/agent-runs?repository=x/y'%20OR%201=1--", /repository must look like owner\/name/],
      ['/api/v1/agent-runs?status=failed', /property status should not exist/],
      ['/api/v1/agent-runs?outcome=fixed&outcome=no_change', /outcome must be one of/],
      ['/api/v1/agent-runs/summary?since=forever', /since must be a look-back/],
      ['/api/v1/agent-runs/summary?since=999999d', /at most 366 days/],
      [
        '/api/v1/agent-runs/summary?repository=octo-org/app/../etc',
        /repository must look like owner\/name/,
      ],
      ['/api/v1/agent-runs/summary?limit=5', /property limit should not exist/],
    ])('%s is a 400 naming the problem', async (path, detail) => {
      await seed({ outcome: 'fixed', timeToGreen: 60 });
      const res = await get(path);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        status_code: 400,
        error: expect.any(String),
        correlation_id: expect.any(String),
        path: path.split('?')[0],
      });
      expect(res.body.details.join('\n')).toMatch(detail);
    });
  });
});
