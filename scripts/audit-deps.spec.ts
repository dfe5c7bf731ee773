import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Advisory, evaluate, main, parseAllowlist, parseAuditOutput } from './audit-deps';

const TODAY = '2026-06-01';

/** The shape `npm audit --json` (report version 2) prints. */
function report(vulnerabilities: Record<string, unknown>): string {
  return JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities,
    metadata: { vulnerabilities: {}, dependencies: {} },
  });
}

const direct = {
  name: 'express-fake',
  severity: 'high',
  isDirect: true,
  via: [
    {
      source: 1096302,
      name: 'express-fake',
      dependency: 'express-fake',
      title: 'Open redirect',
      url: 'https://github.com/advisories/GHSA-rv95-896h-c2vc',
      severity: 'high',
      range: '<4.19.2',
    },
  ],
  effects: ['nest-fake'],
};
const transitive = { name: 'nest-fake', severity: 'high', isDirect: true, via: ['express-fake'] };
const moderate = {
  name: 'small-thing',
  severity: 'moderate',
  via: [
    {
      source: 1,
      name: 'small-thing',
      title: 'ReDoS',
      url: 'https://github.com/advisories/GHSA-2222-3333-4444',
      severity: 'moderate',
      range: '*',
    },
  ],
};

describe('parseAuditOutput', () => {
  it('collects each advisory once, from the package that carries it', () => {
    const out = parseAuditOutput(
      report({ 'express-fake': direct, 'nest-fake': transitive, 'small-thing': moderate }),
    );
    expect(out).toEqual({
      kind: 'report',
      advisories: [
        expect.objectContaining({
          package: 'express-fake',
          ghsa: 'GHSA-rv95-896h-c2vc',
          source: 1096302,
          severity: 'high',
        }),
        expect.objectContaining({ package: 'small-thing', severity: 'moderate' }),
      ],
    });
  });

  it('reads a clean report as no advisories', () => {
    expect(parseAuditOutput(report({}))).toEqual({ kind: 'report', advisories: [] });
  });

  it.each([
    [
      'the 405 this machine’s registry proxy answers',
      JSON.stringify({
        message:
          '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
        statusCode: 405,
      }),
    ],
    [
      'an npm error object',
      JSON.stringify({
        error: { code: 'ENOTFOUND', summary: 'getaddrinfo ENOTFOUND registry.npmjs.org' },
      }),
    ],
    ['no output at all', ''],
    ['an old (v1) report', JSON.stringify({ advisories: {}, metadata: {} })],
    ['a bare array', '[]'],
  ])('treats %s as "the audit did not run", never as clean', (_what, stdout) => {
    expect(parseAuditOutput(stdout).kind).toBe('unavailable');
  });
});

describe('parseAllowlist', () => {
  it('accepts complete, dated entries', () => {
    const text = JSON.stringify({
      advisories: [
        {
          id: 'GHSA-rv95-896h-c2vc',
          package: 'express-fake',
          reason: 'redirect target is fixed in our code',
          expires: '2026-09-01',
        },
        {
          id: 1096302,
          package: 'express-fake',
          reason: 'same advisory by npm number',
          expires: '2026-07-01',
        },
      ],
    });
    expect(parseAllowlist(text, TODAY)).toEqual({
      entries: [
        expect.objectContaining({ id: 'GHSA-rv95-896h-c2vc' }),
        expect.objectContaining({ id: '1096302' }),
      ],
      problems: [],
    });
  });

  it.each([
    [{ package: 'x', reason: 'long enough reason', expires: '2026-07-01' }, 'id must be'],
    [
      { id: 'CVE-2024-1234', package: 'x', reason: 'long enough reason', expires: '2026-07-01' },
      'id must be',
    ],
    [
      { id: 'GHSA-rv95-896h-c2vc', reason: 'long enough reason', expires: '2026-07-01' },
      'package is required',
    ],
    [
      { id: 'GHSA-rv95-896h-c2vc', package: 'x', reason: 'ok', expires: '2026-07-01' },
      'reason must say why',
    ],
    [
      { id: 'GHSA-rv95-896h-c2vc', package: 'x', reason: 'long enough reason' },
      'expires must be a date',
    ],
    [
      {
        id: 'GHSA-rv95-896h-c2vc',
        package: 'x',
        reason: 'long enough reason',
        expires: 'next year',
      },
      'expires must be a date',
    ],
    [
      {
        id: 'GHSA-rv95-896h-c2vc',
        package: 'x',
        reason: 'long enough reason',
        expires: '2099-01-01',
      },
      'more than 366 days',
    ],
  ])('refuses %j', (entry, message) => {
    expect(
      parseAllowlist(JSON.stringify({ advisories: [entry] }), TODAY).problems.join(' '),
    ).toContain(message);
  });

  it('refuses a file that is not an allow-list', () => {
    expect(parseAllowlist('{', TODAY).problems).toEqual(['the allow-list is not valid JSON']);
    expect(parseAllowlist('{"advisories": {}}', TODAY).problems[0]).toMatch(/advisories/);
  });
});

describe('evaluate', () => {
  const advisories = (
    parseAuditOutput(report({ 'express-fake': direct, 'small-thing': moderate })) as {
      advisories: Advisory[];
    }
  ).advisories;
  const entry = (over: Record<string, string> = {}) => ({
    id: 'GHSA-rv95-896h-c2vc',
    package: 'express-fake',
    reason: 'not reachable from our routes',
    expires: '2026-07-01',
    ...over,
  });

  it('blocks an unlisted high advisory and ignores moderate ones', () => {
    const verdict = evaluate(advisories, [], TODAY);
    expect(verdict.ok).toBe(false);
    expect(verdict.blocking.map((a) => a.package)).toEqual(['express-fake']);
  });

  it('passes an advisory a live entry accepts, by GHSA id or npm number', () => {
    expect(evaluate(advisories, [entry()], TODAY)).toMatchObject({
      ok: true,
      blocking: [],
      unused: [],
    });
    expect(evaluate(advisories, [entry({ id: '1096302' })], TODAY).ok).toBe(true);
    expect(evaluate(advisories, [entry({ id: 'ghsa-rv95-896h-c2vc' })], TODAY).ok).toBe(true);
  });

  it('does not let an entry for another package accept the advisory', () => {
    expect(evaluate(advisories, [entry({ package: 'other' })], TODAY).ok).toBe(false);
  });

  it('fails on an expired entry, even when the advisory is gone', () => {
    const old = entry({ expires: '2026-05-31' });
    expect(evaluate(advisories, [old], TODAY)).toMatchObject({ ok: false, expired: [old] });
    expect(evaluate([], [old], TODAY)).toMatchObject({ ok: false, expired: [old] });
    // The expiry day itself still counts.
    expect(evaluate(advisories, [entry({ expires: TODAY })], TODAY).ok).toBe(true);
  });

  it('reports live entries that match nothing, without failing', () => {
    expect(evaluate([], [entry()], TODAY)).toMatchObject({ ok: true, unused: [entry()] });
  });
});

describe('audit-deps as run', () => {
  const root = mkdtempSync(join(tmpdir(), 'audit-deps-'));
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'x', version: '1.0.0', dependencies: { ms: '2.1.3' } }),
  );
  writeFileSync(
    join(root, 'package-lock.json'),
    JSON.stringify({
      name: 'x',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'x', version: '1.0.0', dependencies: { ms: '2.1.3' } },
        'node_modules/ms': {
          version: '2.1.3',
          resolved: 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz',
        },
      },
    }),
  );
  writeFileSync(join(root, 'audit-allowlist.json'), JSON.stringify({ advisories: [] }));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  // A registry nobody listens on: npm cannot audit.
  const offline = {
    ...process.env,
    CI: '',
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_fetch_retries: '0',
    npm_config_fetch_timeout: '2000',
    npm_config_audit: 'true',
  };

  it('fails loudly (exit 2) when the audit cannot run', () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(main([], offline, root)).toBe(2);
      expect(stderr.mock.calls.join('')).toContain('THE DEPENDENCY AUDIT DID NOT RUN');
    } finally {
      stderr.mockRestore();
    }
  }, 60_000);

  it('passes without an audit only with --offline-ok, and never in CI', () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(main(['--offline-ok'], offline, root)).toBe(0);
      expect(stderr.mock.calls.join('')).toContain('WITHOUT an audit');
      expect(main(['--offline-ok'], { ...offline, CI: 'true' }, root)).toBe(1);
      expect(stderr.mock.calls.join('')).toContain('not allowed in CI');
    } finally {
      stderr.mockRestore();
    }
  }, 60_000);

  it('refuses a malformed allow-list before auditing', () => {
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ advisories: [{ id: 'x' }] }));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(main(['--allowlist', bad], offline, root)).toBe(1);
    } finally {
      stderr.mockRestore();
    }
  });
});
