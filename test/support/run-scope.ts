import { mkdtempSync, chmodSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import Redis from 'ioredis';

/**
 * What one test run owns: its database (and any database whose name starts with it), its Bull
 * key prefix (and every `<prefix>_<suite>` prefix the suites derive from it), and a temporary
 * folder that TMPDIR points to while the run lasts, so every temporary folder of the run, its
 * child processes' too, lands inside it.
 */
export interface RunScope {
  adminUrl: string;
  redisUrl: string;
  databaseName: string;
  queuePrefix: string;
  tmpRoot: string;
  /** Further databases the run made on purpose (the Jest workers' copies): expected, dropped. */
  ownDatabases?: string[];
}

/** A fresh temporary root for a run; readable by other users (a test may run initdb as postgres). */
export function makeTmpRoot(runId: string, parent = tmpdir()): string {
  const root = mkdtempSync(join(parent, `orchestrator-test-${runId}-`));
  chmodSync(root, 0o755);
  return root;
}

export interface SweepOptions {
  /** The run's own database is expected; false keeps it (KEEP_TEST_DATABASE=1). */
  dropDatabase: boolean;
  /** How long to wait before looking again for keys under the run's prefixes. */
  settleMs?: number;
}

/**
 * Removes everything the run owns and returns what should not have been there: databases other
 * than the run's own, temporary files or folders a suite did not remove, and Redis keys that
 * came back after the sweep (a process of the run still writing). Bull's keys under the run's
 * prefixes are expected (queues keep their state) and are deleted without complaint.
 */
export async function sweepRun(scope: RunScope, options: SweepOptions): Promise<string[]> {
  const leftovers: string[] = [];
  leftovers.push(...(await sweepDatabases(scope, options.dropDatabase)));
  leftovers.push(...sweepTmp(scope.tmpRoot));
  leftovers.push(...(await sweepRedis(scope, options.settleMs ?? 500)));
  return leftovers;
}

async function sweepDatabases(scope: RunScope, dropOwn: boolean): Promise<string[]> {
  const admin = new Client({ connectionString: scope.adminUrl });
  await admin.connect();
  try {
    const own = scope.databaseName;
    const expected = [own, ...(scope.ownDatabases ?? [])];
    if (dropOwn) {
      for (const name of expected) {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      }
    }
    // Databases a suite made for itself are named after the run's; `_` is a LIKE wildcard.
    const { rows } = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE $1 ESCAPE '\\' AND datname <> ALL($2)",
      [`${escapeLike(own)}\\_%`, expected],
    );
    for (const { datname } of rows) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    }
    return rows.map((r) => `database ${r.datname}`);
  } finally {
    await admin.end();
  }
}

/** Removes the run's temporary root; returns what was still in it. */
export function sweepTmp(root: string): string[] {
  if (!existsSync(root)) return [];
  const entries = readdirSync(root);
  rmSync(root, { recursive: true, force: true });
  return entries.map((name) => `temporary ${join(root, name)}`);
}

async function sweepRedis(scope: RunScope, settleMs: number): Promise<string[]> {
  const redis = new Redis(scope.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch {
    // No Redis to sweep (a test stopped it, or none was used): its keys went with it.
    redis.disconnect();
    return [];
  }
  try {
    // Bull's keys sit under the hash-tagged prefix (`{prefix}:…`), the rest under the plain one.
    const patterns = [
      `${scope.queuePrefix}:*`,
      `${scope.queuePrefix}_*`,
      `{${scope.queuePrefix}}:*`,
      `{${scope.queuePrefix}_*`,
    ];
    for (const pattern of patterns) await deleteMatching(redis, pattern);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const back: string[] = [];
    for (const pattern of patterns) back.push(...(await deleteMatching(redis, pattern)));
    return back.slice(0, 20).map((key) => `redis key ${key} (written again after the sweep)`);
  } finally {
    redis.disconnect();
  }
}

/** Deletes the keys matching `pattern`; returns them. */
async function deleteMatching(redis: Redis, pattern: string): Promise<string[]> {
  const deleted: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) {
      await redis.del(...keys);
      deleted.push(...keys);
    }
  } while (cursor !== '0');
  return deleted;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
