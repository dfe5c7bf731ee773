import { Inject, Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { Logger } from 'winston';
import { captureJobTelemetry, isTransientError, LOGGER } from '@app/platform';
import { ClaimedTask, TaskRepository } from '@app/persistence';
import { JobName, PollAgentRunJob, QueueName, TaskTelemetry } from '@app/runtime';
import {
  AgentRun,
  CodegenClient,
  isSuccessfulAgentRunStatus,
  isTerminalAgentRunStatus,
} from '@app/codegen';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { PrCommenter } from '../handlers/pr-commenter';

export type PollOutcome = 'completed' | 'failed' | 'waiting' | 'skipped';

/**
 * Follows an agent run to its end. The `codegen_trigger` task stays `running` (its lease kept
 * fresh) while polls back off from CODEGEN_POLL_INTERVAL_MS to CODEGEN_POLL_MAX_INTERVAL_MS; a
 * terminal run completes or fails the task with the run's outcome; a run past
 * CODEGEN_RUN_DEADLINE_MS fails it. If Redis loses a poll, the lease expires and the relay hands
 * the task back to its handler, which resumes polling the same run (never starts another).
 */
@Injectable()
export class AgentRunPoller {
  constructor(
    private readonly tasks: TaskRepository,
    @InjectQueue(QueueName.AgentRunPoll) private readonly polls: Queue<PollAgentRunJob>,
    @Inject(CodegenClient) private readonly codegen: CodegenClient | null,
    private readonly commenter: PrCommenter,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly telemetry: TaskTelemetry,
  ) {}

  /** Lease that outlives the gap to the next poll, so the relay leaves a waiting task alone. */
  leaseFor(delayMs: number): number {
    return delayMs + this.config.codegen.timeoutMs + 60_000;
  }

  delayFor(poll: number): number {
    const { pollIntervalMs, pollMaxIntervalMs } = this.config.codegen;
    return Math.min(pollMaxIntervalMs, Math.round(pollIntervalMs * 1.5 ** Math.max(0, poll - 1)));
  }

  async schedule(taskId: string, poll: number, delayMs = this.delayFor(poll)): Promise<void> {
    await this.polls.add(
      JobName.PollAgentRun,
      // The delivery's correlation id and trace continue into every poll.
      { ...captureJobTelemetry(), taskId, poll },
      {
        jobId: `${taskId}:poll:${poll}`,
        delay: delayMs,
        removeOnComplete: true,
        removeOnFail: true,
        attempts: 1,
      },
    );
  }

  async poll(job: PollAgentRunJob): Promise<PollOutcome> {
    const claim = await this.tasks.currentClaim(job.taskId);
    if (!claim || !claim.task.codegenTaskId || !this.codegen) return 'skipped';
    const runId = claim.task.codegenTaskId;
    const recorded = claim.task.outputData?.agent_run_started_at;
    const startedAt =
      (typeof recorded === 'string' ? Date.parse(recorded) : NaN) ||
      claim.task.startedAt?.getTime() ||
      Date.now();
    let run: AgentRun;
    try {
      run = await this.codegen.getAgentRun(runId);
    } catch (error) {
      if (!isTransientError(error) && !this.pastDeadline(startedAt)) {
        return this.end(claim, {
          status: 'failed',
          error: `could not read agent run ${runId}: ${String(error)}`,
        });
      }
      return this.again(claim, job.poll, startedAt, String(error));
    }
    if (isTerminalAgentRunStatus(run.status)) {
      const succeeded = isSuccessfulAgentRunStatus(run.status);
      return this.end(claim, {
        status: succeeded ? 'completed' : 'failed',
        run,
        error: succeeded ? undefined : `agent run ${run.id} ended ${run.status}`,
      });
    }
    return this.again(claim, job.poll, startedAt, `run status ${run.status}`);
  }

  private pastDeadline(startedAt: number): boolean {
    return Date.now() - startedAt > this.config.codegen.runDeadlineMs;
  }

  private async again(
    claim: ClaimedTask,
    poll: number,
    startedAt: number,
    note: string,
  ): Promise<PollOutcome> {
    if (this.pastDeadline(startedAt)) {
      return this.end(claim, {
        status: 'failed',
        error: `agent run ${claim.task.codegenTaskId} did not finish within ${Math.round(this.config.codegen.runDeadlineMs / 60_000)} min (${note})`,
      });
    }
    const delay = this.delayFor(poll + 1);
    if (!(await this.tasks.extendLease(claim, this.leaseFor(delay)))) return 'skipped';
    await this.schedule(claim.task.taskId, poll + 1, delay);
    return 'waiting';
  }

  private async end(
    claim: ClaimedTask,
    result: { status: 'completed' | 'failed'; run?: AgentRun; error?: string },
  ): Promise<PollOutcome> {
    const previous = claim.task.outputData ?? {};
    const outputData: Record<string, unknown> = {
      ...previous,
      agent_run_status: result.run?.status ?? previous.agent_run_status ?? null,
      result: result.run?.result ?? null,
      summary: result.run?.summary ?? null,
      web_url: result.run?.webUrl ?? claim.task.codegenTaskUrl,
      pull_requests: result.run?.pullRequests ?? [],
      agent_run_finished_at: new Date().toISOString(),
    };
    // The PR comment first: a worker that stops between the two edits it again on the next poll,
    // where one that finished the task first would leave the comment saying "started" for good.
    await this.commenter.runEnded(claim.task, outputData, result.status);
    const finished =
      result.status === 'completed'
        ? await this.tasks.finish(claim, { kind: 'completed', outputData })
        : await this.tasks.finish(claim, {
            kind: 'failed',
            error: result.error ?? 'agent run failed',
            outputData,
          });
    if (!finished) return 'skipped';
    this.telemetry.taskFinished(claim.task.taskType, result.status);
    this.logger.info('agent run ended', {
      task_id: claim.task.taskId,
      agent_run_id: claim.task.codegenTaskId,
      status: result.run?.status ?? result.status,
    });
    return result.status;
  }
}
