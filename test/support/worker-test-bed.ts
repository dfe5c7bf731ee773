import Bull, { Queue } from 'bull';
import { createLogger, Logger, transports } from 'winston';
import {
  AuditLogRepository,
  ClaimedTask,
  RepositoryRulesFileRepository,
  TaskCreationRepository,
  TaskExecutionRepository,
  TaskLifecycleRepository,
  TaskRelayRepository,
  WebhookEventEntity,
  WebhookEventRepository,
} from '@app/persistence';
import { QueueName, RunTaskJob, TaskEnqueuer } from '@app/runtime';
import { CodegenClient } from '@app/codegen';
import { GithubClient } from '@app/github';
import { RepositoryRulesService } from '../../apps/worker/src/agents/repository-rules.service';
import { loadWorkerConfig, WorkerConfig } from '../../apps/worker/src/config/worker.config';
import { TaskContext } from '../../apps/worker/src/handlers/task-handler';
import { CodegenFake, GithubFake } from '../fakes';
import { UnitDatabase, useUnitDatabase } from './unit-database';

export type WorkerQueues = Record<QueueName, Queue<RunTaskJob>>;

export interface WorkerTestBedOptions {
  /** Starts a GitHub fake accepting this token, the one the worker's client sends (none when left out). */
  githubToken?: string;
  /** Starts a Codegen fake knowing these repositories (none started when left out). */
  codegenRepositories?: string[];
  /**
   * Opens the worker's queues under a Bull prefix of the spec's own, starting so; they are emptied
   * before each test and removed after the file.
   */
  queuePrefix?: string;
}

/** What a worker unit spec shares: its database, fakes, queues, and the pieces built on them. */
export interface WorkerTestBed {
  readonly db: UnitDatabase;
  /** A silent logger. */
  readonly logger: Logger;
  /** Only with githubToken. */
  readonly githubFake: GithubFake;
  /** Only with codegenRepositories. */
  readonly codegenFake: CodegenFake;
  /** Only with queuePrefix. */
  readonly queues: WorkerQueues;
  /** The worker's configuration pointed at the fakes, with the spec's own settings on top. */
  config(env?: Record<string, string>): WorkerConfig;
  /** The real GitHub client pointed at the fake. */
  github(): GithubClient;
  /** The real Codegen client pointed at the fake. */
  codegen(): CodegenClient;
  lifecycle(events?: WebhookEventRepository): TaskLifecycleRepository;
  /** The enqueuer handing tasks to the analysis and codegen queues. */
  enqueuer(relay?: TaskRelayRepository): TaskEnqueuer;
  repositoryRules(github: GithubClient, config: WorkerConfig): RepositoryRulesService;
  /** The context the runner gives a claimed task's attempt (its event read back). */
  context(claim: ClaimedTask, overrides?: Partial<TaskContext>): Promise<TaskContext>;
}

/**
 * The shared setup of the worker's unit specs: a unit database, and when asked a GitHub fake, a
 * Codegen fake and Bull queues, started before the file's tests, reset before each and
 * stopped after the file.
 */
export function useWorkerTestBed(options: WorkerTestBedOptions): WorkerTestBed {
  const db = useUnitDatabase();
  const logger = createLogger({ transports: [new transports.Console({ silent: true })] });
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
  const prefix = options.queuePrefix
    ? `${options.queuePrefix}_${Date.now().toString(36)}_${process.pid}`
    : null;
  let githubFake: GithubFake | null = null;
  let codegenFake: CodegenFake | null = null;
  let queues: WorkerQueues | null = null;

  beforeAll(async () => {
    [githubFake, codegenFake] = await Promise.all([
      options.githubToken ? GithubFake.start({ token: options.githubToken }) : null,
      options.codegenRepositories
        ? CodegenFake.start({ repositories: options.codegenRepositories })
        : null,
    ]);
    if (prefix) {
      const open = (name: QueueName) => new Bull<RunTaskJob>(name, redisUrl, { prefix });
      queues = {
        [QueueName.Analysis]: open(QueueName.Analysis),
        [QueueName.Codegen]: open(QueueName.Codegen),
        [QueueName.AgentRunPoll]: open(QueueName.AgentRunPoll),
      };
      await Promise.all(Object.values(queues).map((q) => q.isReady()));
    }
  });

  beforeEach(async () => {
    for (const queue of Object.values(queues ?? {})) await queue.obliterate({ force: true });
    githubFake?.reset();
    codegenFake?.reset();
  });

  afterAll(async () => {
    for (const queue of Object.values(queues ?? {})) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await Promise.all([githubFake?.stop(), codegenFake?.stop()]);
  });

  const open = <T>(value: T | null, what: string): T => {
    if (!value) throw new Error(`the ${what} is open only inside the tests, when asked for`);
    return value;
  };

  const bed: WorkerTestBed = {
    db,
    logger,
    get githubFake() {
      return open(githubFake, 'GitHub fake');
    },
    get codegenFake() {
      return open(codegenFake, 'Codegen fake');
    },
    get queues() {
      return open(queues, 'queues');
    },
    config(env = {}) {
      return loadWorkerConfig({
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused',
        ...(githubFake
          ? { GITHUB_API_URL: githubFake.url, GITHUB_TOKEN: options.githubToken ?? '' }
          : {}),
        ...(codegenFake
          ? {
              CODEGEN_BASE_URL: codegenFake.url,
              CODEGEN_TOKEN: codegenFake.token,
              CODEGEN_ORG_ID: String(codegenFake.orgId),
            }
          : {}),
        ...env,
      });
    },
    github() {
      return new GithubClient({
        apiUrl: bed.githubFake.url,
        token: options.githubToken,
        timeoutMs: 5000,
      });
    },
    codegen() {
      const fake = bed.codegenFake;
      return new CodegenClient({
        baseUrl: fake.url,
        token: fake.token,
        orgId: fake.orgId,
        timeoutMs: 5000,
      });
    },
    lifecycle(events = new WebhookEventRepository()) {
      return new TaskLifecycleRepository(
        db.dataSource,
        events,
        new TaskExecutionRepository(db.dataSource),
        new TaskCreationRepository(),
      );
    },
    enqueuer(relay = new TaskRelayRepository(db.dataSource)) {
      const all = bed.queues;
      return new TaskEnqueuer(
        { [QueueName.Analysis]: all[QueueName.Analysis], [QueueName.Codegen]: all[QueueName.Codegen] },
        relay,
        logger,
        5000,
      );
    },
    repositoryRules(github, config) {
      return new RepositoryRulesService(
        github,
        new RepositoryRulesFileRepository(db.dataSource),
        new AuditLogRepository(db.dataSource),
        config,
        logger,
      );
    },
    async context(claim, overrides = {}) {
      const event = claim.task.webhookEventId
        ? await db.dataSource
            .getRepository(WebhookEventEntity)
            .findOneBy({ id: claim.task.webhookEventId })
        : null;
      return {
        task: claim.task,
        event,
        signal: new AbortController().signal,
        attempt: claim.attempt,
        sendBy: Date.now() + 60_000,
        checkpoint: () => Promise.resolve(true),
        markAgentRunRequested: () => Promise.resolve(true),
        ...overrides,
      };
    },
  };
  return bed;
}
