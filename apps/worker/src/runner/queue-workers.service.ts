import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import type { Logger } from 'winston';
import { LOGGER, runJobWithTelemetry } from '@app/platform';
import { JOBS_BY_QUEUE, JobName, PollAgentRunJob, QueueName, RunTaskJob } from '@app/runtime';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { TaskHoldError, TaskRunner } from './task-runner.service';
import { AgentRunPoller } from './agent-run-poller.service';

type JobHandler = (job: Job<RunTaskJob>, queue: QueueName) => Promise<unknown>;

/** How long a stop waits for Bull to finish naming its connections. */
const NAMING_WAIT_MS = 2000;

/**
 * Registers the Bull processors with configured concurrency. Every job name must have a
 * handler, or the worker refuses to start.
 */
@Injectable()
export class QueueWorkers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly queues = new Map<QueueName, Queue<RunTaskJob>>();
  /** Every queue by name: the record type makes a new QueueName fail to compile until added. */
  private readonly injected: Record<QueueName, Queue<RunTaskJob>>;
  private closing = false;
  /** Bull's connection naming still under way (see guardWorkerNaming). */
  private readonly naming = new Set<Promise<unknown>>();

  constructor(
    @InjectQueue(QueueName.Analysis) analysis: Queue<RunTaskJob>,
    @InjectQueue(QueueName.Codegen) codegen: Queue<RunTaskJob>,
    @InjectQueue(QueueName.AgentRunPoll) polls: Queue<RunTaskJob>,
    private readonly runner: TaskRunner,
    private readonly poller: AgentRunPoller,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.injected = {
      [QueueName.Analysis]: analysis,
      [QueueName.Codegen]: codegen,
      [QueueName.AgentRunPoll]: polls,
    };
  }

  onApplicationBootstrap(): void {
    const handlers: Record<JobName, JobHandler> = {
      [JobName.RunTask]: (job, queue) => this.runTask(job, queue),
      [JobName.PollAgentRun]: (job, queue) =>
        this.pollAgentRun(job as unknown as Job<PollAgentRunJob>, queue),
    };
    const missing = Object.values(JobName).filter((name) => !handlers[name]);
    if (missing.length > 0) throw new Error(`no handler for job name(s): ${missing.join(', ')}`);
    const concurrency: Record<QueueName, number> = {
      [QueueName.Analysis]: this.config.analysisConcurrency,
      [QueueName.Codegen]: this.config.codegenConcurrency,
      [QueueName.AgentRunPoll]: this.config.codegenConcurrency,
    };
    for (const name of Object.values(QueueName)) {
      const queue = this.injected[name];
      this.queues.set(name, queue);
      this.guardWorkerNaming(queue, name);
      for (const jobName of JOBS_BY_QUEUE[name]) {
        // Bull's promise rejects when the queue closes before it finished subscribing (a worker
        // stopped right after its start); unhandled, that would end the process.
        queue
          .process(jobName, concurrency[name], (job: Job<RunTaskJob>) =>
            handlers[jobName](job, name),
          )
          .catch((error: unknown) => {
            if (this.closing) return;
            this.logger.error('queue processing could not start', {
              queue: name,
              error: String(error),
            });
          });
      }
      queue.on('error', (error) =>
        this.logger.warn('queue connection error', { queue: name, error: String(error) }),
      );
    }
    this.logger.info('worker started', {
      worker_id: this.config.workerId,
      concurrency,
      codegen_mode: this.config.codegen.dryRun
        ? 'dry-run (no CODEGEN_TOKEN): prompts are recorded, no agent runs start'
        : 'live',
    });
  }

  /**
   * Bull's `process()` names the blocking connection (CLIENT SETNAME) and drops the promise. A
   * queue closed before Redis answered left that promise rejected with no handler, which ends the
   * process; and a naming that ran after the close opened a fresh blocking connection nothing
   * closes. So failures are logged, never fatal (the name only labels the connection in CLIENT
   * LIST), and shutdown waits for the naming before it closes the queues.
   */
  private guardWorkerNaming(queue: Queue, name: QueueName): void {
    const named = queue as unknown as { setWorkerName?: () => Promise<unknown> };
    const setWorkerName = named.setWorkerName?.bind(queue);
    if (!setWorkerName) return;
    named.setWorkerName = () => {
      const naming = setWorkerName().catch((error: unknown) => {
        if (this.closing) return;
        this.logger.warn('could not name the queue connection', {
          queue: name,
          error: String(error),
        });
      });
      this.naming.add(naming);
      void naming.finally(() => this.naming.delete(naming));
      return naming;
    };
  }

  /** Lets running jobs finish (Bull waits for active jobs on close) before the pool closes. */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    // Bounded: with Redis gone the naming never ends, and closing the queues ends it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.naming]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, NAMING_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
  }

  private async pollAgentRun(job: Job<PollAgentRunJob>, queue: QueueName): Promise<unknown> {
    const { taskId, poll } = job.data ?? {};
    if (typeof taskId !== 'string' || !/^[0-9a-f-]{36}$/i.test(taskId) || !Number.isInteger(poll)) {
      this.logger.error('dropping a poll job without a valid task id', {
        queue,
        job_id: String(job.id),
      });
      return 'invalid';
    }
    return runJobWithTelemetry(
      { ...job.data, taskId },
      { 'messaging.system': 'bull', 'messaging.destination.name': queue, 'agent_run.poll': poll },
      () => this.poller.poll(job.data),
    );
  }

  private async runTask(job: Job<RunTaskJob>, queue: QueueName): Promise<unknown> {
    const taskId = job.data?.taskId;
    if (typeof taskId !== 'string' || !/^[0-9a-f-]{36}$/i.test(taskId)) {
      this.logger.error('dropping a job without a valid task id', {
        queue,
        job_id: String(job.id),
      });
      return 'invalid';
    }
    // The job continues the delivery's trace and carries its correlation id into every log line.
    return runJobWithTelemetry(
      { ...job.data, taskId },
      {
        'messaging.system': 'bull',
        'messaging.destination.name': queue,
        'bull.job.attempt': job.attemptsMade + 1,
      },
      () => this.runner.run(taskId, queue),
    ).catch((error: unknown) => {
      if (error instanceof TaskHoldError) keepAttemptForHold(job);
      throw error;
    });
  }
}

/**
 * A hold is no failed attempt, but Bull counts every throw against the job's `attempts` and drops
 * the job once they are spent (the relay would bring the task back, 30 s late). Bull decides
 * from this job object when the throw reaches it, so one more attempt is allowed here; the
 * task's own retries live in PostgreSQL and are untouched.
 */
function keepAttemptForHold(job: Job<RunTaskJob>): void {
  job.opts.attempts = Math.max(job.opts.attempts ?? 1, job.attemptsMade + 2);
}
