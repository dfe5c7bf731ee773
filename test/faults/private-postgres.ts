import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * A PostgreSQL cluster of the test's own (initdb in a temp folder, its own port), so a scenario
 * can restart "the database" without touching the machine's shared server.
 */
export class PrivatePostgres {
  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static available(): boolean {
    return PrivatePostgres.findBin() !== null;
  }

  static async start(port: number): Promise<PrivatePostgres> {
    const bin = PrivatePostgres.findBin();
    if (!bin) throw new Error('initdb/pg_ctl not found (PostgreSQL server binaries are needed)');
    const dir = mkdtempSync(join(tmpdir(), 'faults-pg-'));
    chmodSync(dir, 0o777);
    const pg = new PrivatePostgres(bin, dir, port);
    pg.asPostgres('initdb', [
      '-D',
      join(dir, 'data'),
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
    ]);
    pg.ctl([
      'start',
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    ]);
    await pg.waitReady();
    return pg;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(name: string): Promise<void> {
    const client = new Client({ connectionString: this.url('postgres') });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
  }

  /** A fast restart: every connection is cut, the server is away for a moment. */
  async restart(): Promise<void> {
    this.ctl([
      'restart',
      '-w',
      '-m',
      'fast',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    ]);
    await this.waitReady();
  }

  /** pg_terminate_backend on every connection of the apps (everything but this one). */
  async terminateConnections(database: string): Promise<number> {
    const client = new Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [database],
      );
      return Number(rows[0].n);
    } finally {
      await client.end();
    }
  }

  stop(): void {
    try {
      this.ctl(['stop', '-m', 'immediate']);
    } catch {
      // already down
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const client = new Client({
        connectionString: this.url('postgres'),
        connectionTimeoutMillis: 500,
      });
      try {
        await client.connect();
        await client.end();
        return;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private ctl(args: string[]): void {
    this.asPostgres('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), ...args]);
  }

  /** The server refuses to run as root: run its tools as the postgres user when we are root. */
  private asPostgres(tool: string, args: string[]): void {
    const path = join(this.bin, tool);
    if (process.getuid?.() === 0) {
      execFileSync('runuser', ['-u', 'postgres', '--', path, ...args], { stdio: 'pipe' });
    } else {
      execFileSync(path, args, { stdio: 'pipe' });
    }
  }

  private static findBin(): string | null {
    const root = '/usr/lib/postgresql';
    if (!existsSync(root)) {
      const which = spawnSync('which', ['initdb']);
      return which.status === 0 ? join(String(which.stdout).trim(), '..') : null;
    }
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions)
      if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
    return null;
  }
}
