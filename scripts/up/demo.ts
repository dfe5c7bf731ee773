/**
 * `npm run up -- --demo` (or `npm run demo`): the whole product on this machine with no
 * credentials and no network. GitHub and Codegen are the test suites' own stand-ins (test/fakes,
 * real HTTP servers on 127.0.0.1 that answer as the two services publish), so the demo and the
 * tests cannot drift apart. Refused under NODE_ENV=production.
 */
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- GitHub's example payloads are edited field by field, as the tests do */
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Client } from 'pg';
import Redis from 'ioredis';
import { CodegenFake, GithubFake } from '../../test/fakes';
import { exampleRepositories } from '../../test/support/example-repositories';
import { Env, withLocalDefaults } from './settings';
import { WEBHOOK_PATH } from './ready-block';

/** The demo's Bull prefix; DEMO_QUEUE_PREFIX moves it (the test suite runs the demo under its own). */
const PREFIX = process.env.DEMO_QUEUE_PREFIX || 'demo';
const CODEGEN_TOKEN = 'demo-codegen-token';
const SHA = 'd'.repeat(40);

const LOUD = [
  '',
  '################################################################################',
  '#  DEMO MODE: GitHub and Codegen are local stand-ins on 127.0.0.1; nothing    #',
  '#  leaves this machine. Throw-away secrets, a database of its own.            #',
  '#  Not for production (refused with NODE_ENV=production).                     #',
  '################################################################################',
  '',
].join('\n');

/** The settings of a demo run; throws under NODE_ENV=production. */
export function demoSettings(processEnv: Env): Env {
  if (processEnv.NODE_ENV === 'production') {
    throw new Error('demo mode refuses NODE_ENV=production: it fakes GitHub and Codegen');
  }
  const random = (): string => randomBytes(32).toString('hex');
  return withLocalDefaults({
    PATH: processEnv.PATH,
    HOME: processEnv.HOME,
    TMPDIR: processEnv.TMPDIR,
    NODE_ENV: 'development',
    PORT: processEnv.PORT,
    WORKER_HEALTH_PORT: processEnv.WORKER_HEALTH_PORT,
    DATABASE_URL:
      processEnv.DEMO_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/orchestrator_demo',
    REDIS_URL: processEnv.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    QUEUE_PREFIX: PREFIX,
    GITHUB_WEBHOOK_SECRET: random(),
    SECRET_KEY: random(),
    GITHUB_TOKEN: 'demo-github-token',
    CODEGEN_TOKEN,
    CODEGEN_ORG_ID: '42',
    CODEGEN_POLL_INTERVAL_MS: '1000',
    CODEGEN_POLL_MAX_INTERVAL_MS: '2000',
    DELIVERY_RECOVERY_INTERVAL_MS: '0',
    LOG_LEVEL: processEnv.LOG_LEVEL ?? 'warn',
  });
}

/** Starts from nothing: the demo database and the demo's Redis keys are removed. */
export async function resetDemo(env: Env): Promise<void> {
  const target = new URL(env.DATABASE_URL as string);
  const name = target.pathname.slice(1);
  const admin = new URL(target.toString());
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  const redis = new Redis(env.REDIS_URL as string, { maxRetriesPerRequest: 1 });
  try {
    // Bull's keys sit under the hash-tagged prefix (`{demo}:analysis:…`), the rest under `demo:`.
    for (const pattern of [`${PREFIX}:*`, `{${PREFIX}}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- GitHub's example payloads, edited freely

function example(event: string, predicate: (p: Payload) => boolean): Payload {
  const all = createRequire(__filename)(
    '@octokit/webhooks-examples/api.github.com/index.json',
  ) as Array<{ name: string; examples: Payload[] }>;
  const found = all.find((e) => e.name === event)?.examples.find(predicate);
  if (!found) throw new Error(`no example payload for ${event}`);
  return structuredClone(found);
}

export interface DemoRun {
  play(baseUrl: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the stand-ins and points `env` at them (before the apps start). */
export async function startStandIns(env: Env, say: (line: string) => void): Promise<DemoRun> {
  say(LOUD);
  const github = await GithubFake.start();
  const codegen = await CodegenFake.start({
    token: CODEGEN_TOKEN,
    autoCompleteAfterGets: 2,
    // Codegen only works on repositories its organization has imported: the examples' ones.
    repositories: exampleRepositories(),
  });
  env.GITHUB_API_URL = github.url;
  env.CODEGEN_BASE_URL = codegen.url;
  say(`demo: GitHub stand-in on ${github.url}, Codegen stand-in on ${codegen.url}`);

  const pr = example('pull_request', (p) => p.action === 'opened');
  const repo = pr.repository.full_name as string;
  const number = pr.pull_request.number as number;
  pr.pull_request.head.sha = SHA;
  pr.pull_request.draft = false;
  github.setPullRequest(repo, number, { headSha: SHA, title: pr.pull_request.title });
  github.setPullRequestFiles(repo, number, [
    { filename: 'src/server.ts', additions: 40, deletions: 3 },
    { filename: 'src/server.spec.ts', additions: 25 },
  ]);

  const check = example('check_run', (p) => p.action === 'completed');
  check.repository = pr.repository;
  check.check_run.conclusion = 'failure';
  check.check_run.name = 'unit tests';
  check.check_run.head_sha = SHA;
  check.check_run.pull_requests = [
    {
      url: pr.pull_request.url,
      id: pr.pull_request.id,
      number,
      head: { ref: pr.pull_request.head.ref, sha: SHA, repo: pr.repository },
      base: { ref: pr.pull_request.base.ref, sha: pr.pull_request.base.sha, repo: pr.repository },
    },
  ];

  github.setCheckRunDetails(repo, check.check_run.id, {
    name: 'unit tests',
    title: '1 test failed',
    summary: 'server.spec.ts: GET /health answers 500',
    annotations: [
      {
        path: 'src/server.ts',
        start_line: 12,
        annotation_level: 'failure',
        message: 'TypeError: x is undefined',
      },
    ],
  });

  const push = example('push', () => true);
  push.repository = { ...push.repository, ...pr.repository };
  push.ref = `refs/heads/${pr.repository.default_branch ?? 'main'}`;
  push.deleted = false;
  push.created = false;

  const send = async (baseUrl: string, event: string, payload: Payload): Promise<unknown> => {
    const body = JSON.stringify(payload);
    const secret = (env.GITHUB_WEBHOOK_SECRET as string).split(',')[0];
    const res = await fetch(`${baseUrl}${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
        'user-agent': 'GitHub-Hookshot/demo',
      },
      body,
    });
    return res.json();
  };

  return {
    async play(baseUrl: string): Promise<void> {
      const token = mintToken(env);
      const auth = { authorization: `Bearer ${token}` };
      say(
        'demo: sending three deliveries as GitHub would: a pull request opened, a failing check, a push',
      );
      for (const [event, payload] of [
        ['pull_request', pr],
        ['check_run', check],
        ['push', push],
      ] as const) {
        const answer = (await send(baseUrl, event, payload)) as { result?: { status?: string } };
        say(`  ${event.padEnd(12)} -> ${answer.result?.status ?? JSON.stringify(answer)}`);
      }
      type Task = { task_id: string; task_type: string; status: string; error_message?: string };
      let tasks: Task[] = [];
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        const res = await fetch(`${baseUrl}/api/v1/tasks?limit=100`, { headers: auth });
        const body = await res.json();
        tasks = Array.isArray(body) ? (body as Task[]) : [];
        const live = tasks.filter((t) => ['pending', 'queued', 'running'].includes(t.status));
        if (tasks.length >= 4 && live.length === 0) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const trigger = tasks.find((t) => t.task_type === 'codegen_trigger');
      const run = codegen.createdRuns[0];
      const comment = github.comments[0];
      const lines = [
        LOUD,
        'demo: what happened',
        ...tasks.map((t) => `  ${t.task_type.padEnd(30)} ${t.status.padEnd(10)} ${t.task_id}`),
        '',
        `  the agent run the Codegen stand-in received: ${run ? `#${run.id}, prompt:` : 'none'}`,
        ...(run ? indent(String(run.prompt).split('\n').slice(0, 8).join('\n')) : []),
        `  the PR comment the GitHub stand-in received: ${comment ? `on ${comment.repo}#${comment.issue}` : 'none'}`,
        ...(comment ? indent(comment.body) : []),
        '',
        'demo: where to watch',
        `  export TOKEN='${token}'   # an operator token for this demo only`,
        `  curl -s -H "Authorization: Bearer $TOKEN" '${baseUrl}/api/v1/tasks'`,
        ...(trigger
          ? [
              `  curl -s -H "Authorization: Bearer $TOKEN" '${baseUrl}/api/v1/tasks/${trigger.task_id}'`,
            ]
          : []),
        `  curl -s -H "Authorization: Bearer $TOKEN" '${baseUrl}/api/v1/webhooks/events'`,
        `  ${baseUrl}/docs (Authorize with the token)`,
        `  ${baseUrl}/console (sign in with the token)`,
        '',
        'Ctrl-C stops the demo.',
        '',
      ];
      say(lines.join('\n'));
    },
    async stop(): Promise<void> {
      await Promise.all([github.stop(), codegen.stop()]);
    },
  };
}

function mintToken(env: Env): string {
  const result = spawnSync(
    process.execPath,
    [
      'dist/apps/orchestrator/src/auth/mint-token.cli.js',
      '--role',
      'operator',
      '--ttl',
      '12h',
      '--sub',
      'demo',
    ],
    { env, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`could not mint a demo token: ${result.stderr}`);
  return result.stdout.trim();
}

function indent(text: string): string[] {
  return text.split('\n').map((line) => `      ${line}`);
}
