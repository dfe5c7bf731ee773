/**
 * Dependency audit for CI: `npm audit --omit=dev --audit-level=high --json`, failing on every
 * high or critical advisory in a production dependency that `audit-allowlist.json` does not
 * accept, and on every expired allow-list entry.
 *
 *   npm run -s audit:deps                        # CI
 *   npm run -s audit:deps -- --offline-ok        # local only: pass (loudly) when npm cannot audit
 *   npm run -s audit:deps -- --allowlist FILE
 *
 * Exit codes: 0 clean; 1 blocking advisories, expired or malformed allow-list; 2 the audit could
 * not run (registry unreachable, unreadable answer). A missing audit never passes silently:
 * `--offline-ok` turns 2 into 0 with a warning, and is refused when CI is set.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Severity = 'info' | 'low' | 'moderate' | 'high' | 'critical';

export interface Advisory {
  /** npm's numeric advisory id (`source` in the report). */
  source: number | null;
  /** GitHub advisory id, from the advisory URL. */
  ghsa: string | null;
  package: string;
  severity: Severity;
  title: string;
  url: string;
  range: string;
}

export interface AllowlistEntry {
  id: string;
  package: string;
  reason: string;
  expires: string;
}

export type AuditOutput =
  { kind: 'report'; advisories: Advisory[] } | { kind: 'unavailable'; reason: string };

export const BLOCKING: ReadonlySet<Severity> = new Set(['high', 'critical']);
const GHSA = /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_ALLOW_DAYS = 366;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads npm's JSON answer (report version 2, npm 7+); anything else means no audit happened. */
export function parseAuditOutput(stdout: string): AuditOutput {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return { kind: 'unavailable', reason: 'npm audit did not answer with JSON' };
  }
  if (!isRecord(json)) return { kind: 'unavailable', reason: 'npm audit answered with no report' };
  if (
    isRecord(json.error) ||
    typeof json.statusCode === 'number' ||
    typeof json.message === 'string'
  ) {
    const error = isRecord(json.error) ? json.error : {};
    const summary = [json.statusCode, json.message, error.code, error.summary]
      .filter((part) => (typeof part === 'string' && part !== '') || typeof part === 'number')
      .join(' ')
      .slice(0, 300);
    return { kind: 'unavailable', reason: `npm audit failed: ${summary || 'unknown error'}` };
  }
  if (
    json.auditReportVersion !== 2 ||
    !isRecord(json.vulnerabilities) ||
    !isRecord(json.metadata)
  ) {
    return { kind: 'unavailable', reason: 'npm audit report has an unknown format' };
  }
  const seen = new Set<string>();
  const advisories: Advisory[] = [];
  for (const vulnerability of Object.values(json.vulnerabilities)) {
    if (!isRecord(vulnerability) || !Array.isArray(vulnerability.via)) continue;
    // `via` strings point at other packages, whose own entries carry the advisory.
    for (const via of vulnerability.via) {
      if (!isRecord(via)) continue;
      const url = typeof via.url === 'string' ? via.url : '';
      const ghsa = /(GHSA(-[a-z0-9]{4}){3})/i.exec(url)?.[1] ?? null;
      const advisory: Advisory = {
        source: typeof via.source === 'number' ? via.source : null,
        ghsa,
        package: typeof via.name === 'string' ? via.name : String(vulnerability.name),
        severity: (typeof via.severity === 'string' ? via.severity : 'critical') as Severity,
        title: typeof via.title === 'string' ? via.title : '(no title)',
        url,
        range: typeof via.range === 'string' ? via.range : '',
      };
      const key = `${advisory.package}:${advisory.ghsa ?? advisory.source ?? advisory.title}`;
      if (seen.has(key)) continue;
      seen.add(key);
      advisories.push(advisory);
    }
  }
  return { kind: 'report', advisories };
}

/** Validates the allow-list; every entry needs an id, the package, a reason and an expiry. */
export function parseAllowlist(
  text: string,
  today: string,
): { entries: AllowlistEntry[]; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { entries: [], problems: ['the allow-list is not valid JSON'] };
  }
  const list = isRecord(json) ? json.advisories : undefined;
  if (!Array.isArray(list))
    return { entries: [], problems: ['the allow-list needs an "advisories" array'] };
  const entries: AllowlistEntry[] = [];
  const problems: string[] = [];
  const latest = addDays(today, MAX_ALLOW_DAYS);
  list.forEach((raw: unknown, i) => {
    const where = `allow-list entry ${i + 1}`;
    if (!isRecord(raw)) {
      problems.push(`${where} is not an object`);
      return;
    }
    const { id, package: pkg, reason, expires } = raw;
    const idText = typeof id === 'number' ? String(id) : id;
    if (typeof idText !== 'string' || !(GHSA.test(idText) || /^\d{1,10}$/.test(idText))) {
      problems.push(
        `${where}: id must be a GHSA id (GHSA-xxxx-xxxx-xxxx) or an npm advisory number`,
      );
    }
    if (typeof pkg !== 'string' || pkg.trim() === '')
      problems.push(`${where}: package is required`);
    if (typeof reason !== 'string' || reason.trim().length < 10) {
      problems.push(`${where}: reason must say why the risk is accepted`);
    }
    if (
      typeof expires !== 'string' ||
      !DAY.test(expires) ||
      Number.isNaN(Date.parse(`${expires}T00:00:00Z`))
    ) {
      problems.push(`${where}: expires must be a date (YYYY-MM-DD)`);
    } else if (expires > latest) {
      problems.push(
        `${where}: expires is more than ${MAX_ALLOW_DAYS} days away; review it at least yearly`,
      );
    }
    if (problems.some((p) => p.startsWith(`${where}:`) || p.startsWith(`${where} `))) return;
    entries.push({
      id: idText as string,
      package: pkg as string,
      reason: reason as string,
      expires: expires as string,
    });
  });
  return { entries, problems };
}

export interface Verdict {
  blocking: Advisory[];
  allowed: Array<{ advisory: Advisory; entry: AllowlistEntry }>;
  expired: AllowlistEntry[];
  unused: AllowlistEntry[];
  ok: boolean;
}

/** High and critical advisories not accepted by a live entry block; expired entries block too. */
export function evaluate(
  advisories: Advisory[],
  entries: AllowlistEntry[],
  today: string,
): Verdict {
  const expired = entries.filter((e) => e.expires < today);
  const live = entries.filter((e) => e.expires >= today);
  const used = new Set<AllowlistEntry>();
  const blocking: Advisory[] = [];
  const allowed: Verdict['allowed'] = [];
  for (const advisory of advisories.filter((a) => BLOCKING.has(a.severity))) {
    const entry = live.find(
      (e) =>
        e.package === advisory.package &&
        (e.id.toUpperCase() === advisory.ghsa?.toUpperCase() || e.id === String(advisory.source)),
    );
    if (entry) {
      used.add(entry);
      allowed.push({ advisory, entry });
    } else blocking.push(advisory);
  }
  const unused = live.filter((e) => !used.has(e));
  return { blocking, allowed, expired, unused, ok: blocking.length === 0 && expired.length === 0 };
}

function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

function describe(a: Advisory): string {
  return `${a.severity.toUpperCase()} ${a.package} ${a.range} — ${a.title} (${a.ghsa ?? a.source ?? 'no id'}) ${a.url}`;
}

export function main(argv: string[], env: NodeJS.ProcessEnv, root: string): number {
  const offlineOk = argv.includes('--offline-ok');
  const at = argv.indexOf('--allowlist');
  const allowlistPath = at >= 0 && argv[at + 1] ? argv[at + 1] : join(root, 'audit-allowlist.json');
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const err = (line: string): void => void process.stderr.write(`${line}\n`);
  if (offlineOk && env.CI && env.CI !== 'false') {
    err('audit-deps: --offline-ok is not allowed in CI (CI is set): the audit must really run');
    return 1;
  }
  const today = new Date().toISOString().slice(0, 10);
  let allowlistText: string;
  try {
    allowlistText = readFileSync(allowlistPath, 'utf8');
  } catch {
    err(`audit-deps: cannot read the allow-list ${allowlistPath}`);
    return 1;
  }
  const { entries, problems } = parseAllowlist(allowlistText, today);
  if (problems.length > 0) {
    problems.forEach((p) => err(`audit-deps: ${p}`));
    return 1;
  }
  const run = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], {
    cwd: root,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 180_000,
  });
  const output: AuditOutput = run.error
    ? { kind: 'unavailable', reason: `could not run npm: ${run.error.message}` }
    : parseAuditOutput(run.stdout);
  if (output.kind === 'unavailable') {
    err(`audit-deps: THE DEPENDENCY AUDIT DID NOT RUN: ${output.reason}`);
    if (offlineOk) {
      err('audit-deps: --offline-ok given: passing WITHOUT an audit (never do this in CI)');
      return 0;
    }
    return 2;
  }
  const verdict = evaluate(output.advisories, entries, today);
  for (const { advisory, entry } of verdict.allowed) {
    out(`allowed until ${entry.expires}: ${describe(advisory)} — ${entry.reason}`);
  }
  for (const entry of verdict.unused) {
    err(
      `audit-deps: allow-list entry ${entry.id} (${entry.package}) matches nothing any more; remove it`,
    );
  }
  for (const entry of verdict.expired) {
    err(
      `audit-deps: allow-list entry ${entry.id} (${entry.package}) expired on ${entry.expires}: fix, or review and re-date it`,
    );
  }
  for (const advisory of verdict.blocking) err(`audit-deps: ${describe(advisory)}`);
  const counted = output.advisories.filter((a) => BLOCKING.has(a.severity)).length;
  out(
    verdict.ok
      ? `audit-deps: ok (${counted} high/critical advisories, ${verdict.allowed.length} allowed by audit-allowlist.json)`
      : `audit-deps: FAILED (${verdict.blocking.length} blocking advisories, ${verdict.expired.length} expired allow-list entries)`,
  );
  return verdict.ok ? 0 : 1;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), process.env, join(__dirname, '..'));
}
