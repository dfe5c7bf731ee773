import { Client } from 'pg';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { pgPoolOf } from '../events/webhook-event.repository';
import { ExclusiveRunRepository } from '../jobs/exclusive-run.repository';

const db = useUnitDatabase();

/** Ends a session from outside, as an administrator or a restarting server does. */
async function terminate(pid: number): Promise<void> {
  const admin = new Client({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

/** Long enough for the server's FATAL message to reach the client and be handled. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 300));

describe('a session PostgreSQL ends while its connection is checked out', () => {
  it('does not crash the process: the next statement on it fails, the pool goes on without it', async () => {
    // Straight from the pool, as the intake's prepared statements take theirs: pg-pool listens for
    // a connection's errors only while it is idle, so without a listener of the client's own the
    // 'error' event is thrown out of the socket handler (the app process exits; here the file
    // fails with an unhandled error).
    const client = await pgPoolOf(db.dataSource).connect();
    const {
      rows: [{ pid }],
    } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminate(pid);
    await settle();
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release();
    const [{ other }] = await db.rows<{ other: number }>('SELECT pg_backend_pid() AS other');
    expect(other).not.toBe(pid);
  });

  it('an exclusive job whose lock session is ended still finishes, and its run is closed', async () => {
    const runs = new ExclusiveRunRepository(db.dataSource);
    const result = await runs.run('retention', 'spec', async () => {
      const [{ pid }] = await db.rows<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted LIMIT 1`,
      );
      await terminate(pid);
      await settle();
      return 'worked';
    });
    expect(result).toEqual({ ran: true, value: 'worked' });
    const rows = await db.rows<{ outcome: string | null }>('SELECT outcome FROM exclusive_runs');
    expect(rows).toEqual([{ outcome: 'done' }]);
    // The lock went with the session: the next run takes it.
    expect(await runs.run('retention', 'spec', async () => 'again')).toEqual({
      ran: true,
      value: 'again',
    });
  });
});
