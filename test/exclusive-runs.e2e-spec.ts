import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  ClaimedTask,
  CodegenCreateLogRepository,
  ExclusiveRunRepository,
  WorkflowTaskEntity,
} from '@app/persistence';
import { closeDb, db, truncateAll } from './support/harness';

/**
 * What replicas share through PostgreSQL: one run at a time of the relay, delivery recovery and
 * retention (each run logged in `exclusive_runs`), and Codegen's creations per minute counted
 * across the workers over a sliding window (`codegen_create_requests`).
 */
describe('exclusive runs and the Codegen create log (several replicas, one database)', () => {
  let a: DataSource;
  let b: DataSource;

  const source = async (): Promise<DataSource> =>
    new DataSource({
      type: 'postgres',
      url: process.env.TEST_DATABASE_URL,
      extra: { max: 3 },
    }).initialize();

  beforeAll(async () => {
    a = await source();
    b = await source();
  });
  beforeEach(() => truncateAll());
  afterAll(async () => {
    await a.destroy();
    await b.destroy();
    await closeDb();
  });

  const runs = async () =>
    (
      await db().query<{ job: string; holder: string; outcome: string | null; open: boolean }>(
        `SELECT job, holder, outcome, finished_at IS NULL AS open FROM exclusive_runs ORDER BY id`,
      )
    ).rows;

  it('two replicas starting the same job at once: one runs it, the other skips, and the log says who', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inside = 0;
    let most = 0;
    const work = async (): Promise<string> => {
      inside++;
      most = Math.max(most, inside);
      await held;
      inside--;
      return 'done';
    };
    const first = new ExclusiveRunRepository(a).run('relay', 'host:1', work);
    // The first holds the lock before the second asks.
    for (let i = 0; i < 100 && (await runs()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    const second = await new ExclusiveRunRepository(b).run('relay', 'host:2', work);
    expect(second).toEqual({ ran: false });
    // Another job is not held by this one.
    const other = await new ExclusiveRunRepository(b).run('retention', 'host:2', async () => 1);
    expect(other).toEqual({ ran: true, value: 1 });
    release();
    expect(await first).toEqual({ ran: true, value: 'done' });
    expect(most).toBe(1);
    expect(await runs()).toEqual([
      { job: 'relay', holder: 'host:1', outcome: 'done', open: false },
      { job: 'retention', holder: 'host:2', outcome: 'done', open: false },
    ]);
    // Released: the other replica runs it next.
    expect(await new ExclusiveRunRepository(b).run('relay', 'host:2', async () => 2)).toEqual({
      ran: true,
      value: 2,
    });
  });

  it("a holder whose session died releases the job; the next holder closes the dead run's record", async () => {
    // A replica killed mid-run: its lock session ends, its record stays open.
    const dead = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await dead.connect();
    await dead.query(`SELECT pg_advisory_lock('8122019431770004612'::bigint)`);
    await dead.query(`INSERT INTO exclusive_runs (job, holder) VALUES ('retention', 'host:dead')`);
    expect(await new ExclusiveRunRepository(a).run('retention', 'host:1', async () => 'x')).toEqual(
      { ran: false },
    );
    await dead.end();
    expect(await new ExclusiveRunRepository(a).run('retention', 'host:1', async () => 'x')).toEqual(
      { ran: true, value: 'x' },
    );
    expect(await runs()).toEqual([
      { job: 'retention', holder: 'host:dead', outcome: 'holder gone', open: false },
      { job: 'retention', holder: 'host:1', outcome: 'done', open: false },
    ]);
    // The dead run ends where the next began: the record shows no overlap.
    const { rows } = await db().query<{ ok: boolean }>(
      `SELECT (SELECT finished_at FROM exclusive_runs WHERE holder = 'host:dead')
           <= (SELECT started_at FROM exclusive_runs WHERE holder = 'host:1') AS ok`,
    );
    expect(rows[0].ok).toBe(true);
  });

  it('a failing run is logged failed and releases the job', async () => {
    await expect(
      new ExclusiveRunRepository(a).run('delivery_recovery', 'host:1', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await runs()).toEqual([
      { job: 'delivery_recovery', holder: 'host:1', outcome: 'failed', open: false },
    ]);
    expect(
      await new ExclusiveRunRepository(b).run('delivery_recovery', 'host:2', async () => 1),
    ).toEqual({ ran: true, value: 1 });
  });

  describe('Codegen creations per sliding window', () => {
    const claimTask = async (): Promise<ClaimedTask> => {
      const taskId = randomUUID();
      const token = randomUUID();
      const { rows } = await db().query<{ id: string }>(
        `INSERT INTO workflow_tasks (task_id, task_type, status, input_data, claim_token)
         VALUES ($1, 'codegen_trigger', 'running', '{}'::jsonb, $2) RETURNING id`,
        [taskId, token],
      );
      return {
        task: { id: Number(rows[0].id), taskId } as WorkflowTaskEntity,
        claimToken: token,
        executionId: 0,
        attempt: 1,
        abandonedExecutions: 0,
      };
    };

    it('allows the limit across replicas at once, then says how long until the oldest leaves the window', async () => {
      const claims = await Promise.all(Array.from({ length: 5 }, claimTask));
      const repos = [new CodegenCreateLogRepository(a), new CodegenCreateLogRepository(b)];
      // Five creations asked for at once through two replicas, with a limit of 3.
      const answers = await Promise.all(claims.map((c, i) => repos[i % 2].reserve(c, 3, 60_000)));
      expect(answers.filter((x) => x.kind === 'reserved')).toHaveLength(3);
      const waits = answers.filter((x) => x.kind === 'wait');
      expect(waits).toHaveLength(2);
      for (const w of waits) {
        expect(w).toMatchObject({ inWindow: 3 });
        if (w.kind === 'wait') {
          expect(w.waitMs).toBeGreaterThan(55_000);
          expect(w.waitMs).toBeLessThanOrEqual(60_000);
        }
      }
      // Only the reserved ones carry a request mark.
      const { rows } = await db().query<{ n: number }>(
        `SELECT count(*)::int AS n FROM workflow_tasks WHERE agent_run_requested_at IS NOT NULL`,
      );
      expect(rows[0].n).toBe(3);
    });

    it('a creation that left the window frees its slot', async () => {
      const [old, next] = await Promise.all([claimTask(), claimTask()]);
      const log = new CodegenCreateLogRepository(a);
      expect(await log.reserve(old, 1, 60_000)).toEqual({ kind: 'reserved' });
      expect((await log.reserve(next, 1, 60_000)).kind).toBe('wait');
      await db().query(
        `UPDATE codegen_create_requests SET requested_at = requested_at - interval '61 seconds'`,
      );
      expect(await log.reserve(next, 1, 60_000)).toEqual({ kind: 'reserved' });
    });

    it('an attempt that lost its claim takes no slot and writes no mark', async () => {
      const claim = await claimTask();
      // Another worker took the task over: the token changed.
      await db().query(`UPDATE workflow_tasks SET claim_token = $2 WHERE id = $1`, [
        claim.task.id,
        randomUUID(),
      ]);
      expect(await new CodegenCreateLogRepository(a).reserve(claim, 5, 60_000)).toEqual({
        kind: 'lost',
      });
      const { rows } = await db().query<{ n: number }>(
        `SELECT (SELECT count(*) FROM codegen_create_requests)::int
              + (SELECT count(*) FROM workflow_tasks WHERE agent_run_requested_at IS NOT NULL)::int AS n`,
      );
      expect(rows[0].n).toBe(0);
    });
  });
});
