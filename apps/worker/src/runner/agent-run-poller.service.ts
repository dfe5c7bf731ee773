import { Inject, Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { Logger } from 'winston';
import { captureJobTelemetry, ExternalServiceError, isTransientError, LOGGER } from '@app/platform';
import {
  AgentRunRepository,
  ClaimedTask,
  TaskLifecycleRepository,
  WorkflowTaskEntity,
} from '@app/persistence';
import { JobName, PollAgentRunJob, QueueName, TaskEnqueuer, TaskTelemetry } from '@app/runtime';
import { AgentRun, agentRunStatusKind, CodegenClient } from '@app/codegen';
import { GithubClient } from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { PrCommenter } from '../handlers/pr-commenter';
import { AgentOutcomes } from '../agents/agent-outcomes.service';

export type PollOutcome = 'completed' | 'failed' | 'cancelled' | 'waiting' | 'skipped';

/**
 * Follows an agent run to its end. The `codegen_trigger` task stays `running` (its lease kept
 * fresh) while polls back off from CODEGEN_POLL_INTERVAL_MS to CODEGEN_POLL_MAX_INTERVAL_MS.
 * Statuses follow Codegen's published list (see `agentRunStatusKind`): success completes the
 * task; a failure status, or PAUSED (waiting for input, never ends by itself), fails it at the
 * first poll that sees it; null keeps polling; an unknown status keeps polling for
 * CODEGEN_UNKNOWN_STATUS_GRACE_MS, then fails naming it. A run past CODEGEN_RUN_DEADLINE_MS, or
 * one whose pull request got a newer head, is told to stop working on the PR (`remove-from-pr`)
 * and its task ends (failed / cancelled); a newer head counts once GitHub confirms the pull
 * request moved on (a late, older synchronize does not stop a run). If Redis loses a poll, the
 * lease expires and the relay hands the task back to its handler, which resumes polling the same
 * run (never starts another).
 */
@Injectable()
export class AgentRunPoller {
  constructor(
    private readonly tasks: TaskLifecycleRepository,
    private readonly agentRuns: AgentRunRepository,
    @InjectQueue(QueueName.AgentRunPoll) private readonly polls: Queue<PollAgentRunJob>,
    @Inject(CodegenClient) private readonly codegen: CodegenClient | null,
    private readonly commenter: PrCommenter,
    private readonly outcomes: AgentOutcomes,
    private readonly github: GithubClient,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly telemetry: TaskTelemetry,
    private readonly enqueuer: TaskEnqueuer,
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

  /**
   * One poll of the run. A poll that fails on our side for a moment (PostgreSQL restarting, a
   * connection cut) schedules the next one, so the run is followed on within a poll interval of
   * the outage's end; before, the poll job was dropped and the task waited out its lease (the
   * gap to the next poll plus a minute) for the relay to bring it back.
   */
  async poll(job: PollAgentRunJob): Promise<PollOutcome | 'retrying'> {
    try {
      return await this.pollOnce(job);
    } catch (error) {
      if (!isTransientError(error)) throw error;
      this.logger.warn('agent run poll failed; polling again', {
        task_id: job.taskId,
        poll: job.poll,
        error: String(error),
      });
      // A new job id: this poll's job is still the one running. If the failed poll had already
      // scheduled this next one, the add is a no-op.
      await this.schedule(job.taskId, job.poll + 1);
      return 'retrying';
    }
  }

  private async pollOnce(job: PollAgentRunJob): Promise<PollOutcome> {
    const claim = await this.tasks.currentClaim(job.taskId);
    if (!claim || !claim.task.codegenTaskId || !this.codegen) return 'skipped';
    const runId = claim.task.codegenTaskId;
    const recorded = claim.task.outputData?.agent_run_started_at;
    const startedAt =
      (typeof recorded === 'string' ? Date.parse(recorded) : NaN) ||
      claim.task.startedAt?.getTime() ||
      Date.now();
    // The agent's own pushes are its work, not a newer head that makes it obsolete.
    const newerHead = await this.agentRuns.newerHeadSha(claim.task, this.config.agent.pusherLogins);
    if (newerHead !== null && (await this.headMovedOn(claim.task))) {
      const sha = newerHead.slice(0, 12);
      return this.end(claim, {
        status: 'cancelled',
        error: `superseded by ${newerHead}: the pull request's head moved on while agent run ${runId} was working`,
        headline: `was stopped: the pull request's head moved on to \`${sha}\``,
        removeFromPr: 'superseded',
      });
    }
    let run: AgentRun;
    try {
      run = await this.codegen.getAgentRun(runId);
    } catch (error) {
      if (!isTransientError(error) && !this.pastDeadline(startedAt)) {
        return this.end(claim, {
          status: 'failed',
          error: `could not read agent run ${runId}: ${String(error)}`,
          headline: 'could not be followed',
        });
      }
      const retryAfterMs = error instanceof ExternalServiceError ? error.retryAfterMs : undefined;
      // A read Codegen rate-limited without saying how long: wait longer than the usual step.
      const rateLimited = error instanceof ExternalServiceError && error.status === 429;
      const anomaly = /malformed answer/.test(String(error))
        ? `unreadable answers (${String(error).slice(0, 300)})`
        : null;
      return this.again(claim, job.poll, startedAt, String(error), {
        retryAfterMs: retryAfterMs ?? (rateLimited ? 2 * this.delayFor(job.poll + 1) : undefined),
        anomaly,
      });
    }
    const status = run.status;
    switch (agentRunStatusKind(status)) {
      case 'succeeded':
        return this.end(claim, { status: 'completed', run, headline: 'finished' });
      case 'failed':
        return this.end(claim, {
          status: 'failed',
          run,
          error: `agent run ${run.id} ended ${status}`,
          headline: `ended \`${status}\``,
        });
      case 'paused':
        return this.end(claim, {
          status: 'failed',
          run,
          error: `agent run ${run.id} is ${status}: it is waiting for input and will not finish by itself (${run.webUrl ?? 'no web_url given'})`,
          headline: 'is paused and waiting for input; answer it in Codegen, or retry the task',
        });
      case 'unknown':
        return this.again(claim, job.poll, startedAt, `run status ${status}`, {
          anomaly: `status ${JSON.stringify(status)}, which is not one Codegen publishes`,
          run,
        });
      case 'running':
      case 'not_known_yet':
        return this.again(claim, job.poll, startedAt, `run status ${status ?? 'null'}`, { run });
    }
  }

  /**
   * Whether GitHub says the pull request's head is no longer the run's commit. A synchronize
   * stored after the run's trigger is not necessarily newer: GitHub delivers out of order, and an
   * older one can arrive late (a re-sent or recovered delivery). Only the current head decides;
   * when GitHub cannot say, the run is followed on and the next poll asks again.
   */
  private async headMovedOn(task: WorkflowTaskEntity): Promise<boolean> {
    if (!task.repository || task.prNumber === null || !task.commitSha) return false;
    const installation = task.outputData?.installation_id;
    try {
      const pr = await this.github
        .forInstallation(typeof installation === 'number' ? installation : null)
        .getPullRequest(task.repository, task.prNumber);
      return pr.headSha.toLowerCase() !== task.commitSha.toLowerCase();
    } catch (error) {
      this.logger.warn('could not read the pull request head; following the agent run on', {
        task_id: task.taskId,
        error: String(error),
      });
      return false;
    }
  }

  private pastDeadline(startedAt: number): boolean {
    return Date.now() - startedAt > this.config.codegen.runDeadlineMs;
  }

  /**
   * Schedules the next poll. An anomaly (an unknown status, unreadable answers) is noted once in
   * the task's output with the time it was first seen, and fails the task once it has lasted
   * CODEGEN_UNKNOWN_STATUS_GRACE_MS; a normal answer clears it.
   */
  private async again(
    claim: ClaimedTask,
    poll: number,
    startedAt: number,
    note: string,
    seen: { retryAfterMs?: number; anomaly?: string | null; run?: AgentRun } = {},
  ): Promise<PollOutcome> {
    if (this.pastDeadline(startedAt)) {
      return this.end(claim, {
        status: 'failed',
        run: seen.run,
        error: `agent run ${claim.task.codegenTaskId} did not finish within ${Math.round(this.config.codegen.runDeadlineMs / 60_000)} min (${note})`,
        headline: `did not finish within ${Math.round(this.config.codegen.runDeadlineMs / 60_000)} min`,
        removeFromPr: 'deadline',
      });
    }
    const output = claim.task.outputData ?? {};
    const previous = isRecord(output.agent_run_anomaly) ? output.agent_run_anomaly : null;
    let update: Record<string, unknown> | null = null;
    if (seen.anomaly) {
      const sinceText = previous?.what === seen.anomaly ? previous.since : undefined;
      const since = typeof sinceText === 'string' ? Date.parse(sinceText) : NaN;
      if (Number.isNaN(since)) {
        // Logged once, when first seen; its time is kept so the grace survives restarts.
        this.logger.warn('agent run: answer outside Codegen’s published contract; still polling', {
          task_id: claim.task.taskId,
          agent_run_id: claim.task.codegenTaskId,
          anomaly: seen.anomaly,
        });
        update = {
          ...output,
          agent_run_anomaly: { what: seen.anomaly, since: new Date().toISOString() },
        };
      } else if (Date.now() - since >= this.config.codegen.unknownStatusGraceMs) {
        return this.end(claim, {
          status: 'failed',
          run: seen.run,
          error: `agent run ${claim.task.codegenTaskId} reported ${seen.anomaly} for ${Math.round((Date.now() - since) / 60_000)} min (CODEGEN_UNKNOWN_STATUS_GRACE_MS)`,
          headline: `could not be followed: Codegen reported ${seen.anomaly}`,
        });
      }
    } else if (previous && seen.run) {
      update = { ...output, agent_run_anomaly: null };
    }
    const delay = Math.max(this.delayFor(poll + 1), seen.retryAfterMs ?? 0);
    const lease = this.leaseFor(delay);
    const kept = update
      ? await this.tasks.markWaiting(claim, update, lease)
      : await this.tasks.extendLease(claim, lease);
    if (!kept) return 'skipped';
    await this.schedule(claim.task.taskId, poll + 1, delay);
    return 'waiting';
  }

  /** Asks Codegen to stop the run's work on its pull request; what happened goes in the output. */
  private async removeFromPr(
    claim: ClaimedTask,
    reason: 'deadline' | 'superseded',
  ): Promise<Record<string, unknown>> {
    const at = new Date().toISOString();
    try {
      await (this.codegen as CodegenClient).removeFromPr(claim.task.codegenTaskId as string);
      this.logger.info('asked Codegen to stop working on the pull request', {
        task_id: claim.task.taskId,
        agent_run_id: claim.task.codegenTaskId,
        reason,
      });
      return { ok: true, reason, at };
    } catch (error) {
      this.logger.warn('could not ask Codegen to stop working on the pull request', {
        task_id: claim.task.taskId,
        agent_run_id: claim.task.codegenTaskId,
        reason,
        error: String(error),
      });
      return { ok: false, reason, at, error: String(error).slice(0, 500) };
    }
  }

  private async end(
    claim: ClaimedTask,
    result: {
      status: 'completed' | 'failed' | 'cancelled';
      run?: AgentRun;
      error?: string;
      /** How the PR comment says it ended, after the run's link. */
      headline: string;
      removeFromPr?: 'deadline' | 'superseded';
    },
  ): Promise<PollOutcome> {
    const previous = claim.task.outputData ?? {};
    const run = result.run;
    const outputData: Record<string, unknown> = {
      ...previous,
      agent_run_status: run ? run.status : (previous.agent_run_status ?? null),
      result: run?.result ?? null,
      summary: run?.summary ?? null,
      web_url: run?.webUrl ?? claim.task.codegenTaskUrl,
      pull_requests: run?.pullRequests ?? [],
      agent_run_finished_at: new Date().toISOString(),
      ...(run && run.problems.length > 0
        ? { agent_run_answer_problems: run.problems.slice(0, 10) }
        : {}),
      ...(result.status !== 'completed' ? { agent_run_ended: result.headline } : {}),
    };
    if (result.removeFromPr)
      outputData.agent_removed_from_pr = await this.removeFromPr(claim, result.removeFromPr);
    // The PR comment first: a worker that stops between the two edits it again on the next poll,
    // where one that finished the task first would leave the comment saying "started" for good.
    // The outcome first (run_failed, or the agent's pull requests to judge later), so the
    // comment can say how the run was judged when that is already known.
    // A `still_failing` judged right here (the agent's commit failed before the run reported its
    // pull request) asks for its follow-up like any other judgement: it starts with this end.
    const installationId =
      typeof previous.installation_id === 'number' ? previous.installation_id : null;
    const judged = await this.outcomes
      .runEnded(
        claim.task,
        result.status,
        run
          ? {
              status: run.status,
              webUrl: run.webUrl,
              prNumbers: run.pullRequests
                .map((pr) => pr.number)
                .filter((n): n is number => typeof n === 'number'),
            }
          : null,
        installationId,
      )
      .catch((error: unknown) => {
        this.logger.warn('could not record the agent run end on its outcome', {
          task_id: claim.task.taskId,
          error: String(error),
        });
        return { line: null, followUps: [] };
      });
    await this.commenter.runEnded(claim.task, outputData, result.headline, judged.line);
    const error = result.error ?? 'agent run failed';
    const finished =
      result.status === 'completed'
        ? await this.tasks.finish(claim, { kind: 'completed', outputData }, judged.followUps)
        : result.status === 'cancelled'
          ? await this.tasks.finish(claim, { kind: 'cancelled', reason: error, outputData })
          : await this.tasks.finish(claim, { kind: 'failed', error, outputData });
    if (!finished) return 'skipped';
    if (finished.children.length > 0) {
      // The relay enqueues them anyway if this add misses.
      await this.enqueuer.enqueue(
        finished.children.map((c) => ({ ...c, attemptsLeft: claim.task.maxRetries + 1 })),
      );
    }
    this.telemetry.taskFinished(claim.task.taskType, result.status);
    this.logger.info('agent run ended', {
      task_id: claim.task.taskId,
      agent_run_id: claim.task.codegenTaskId,
      status: run?.status ?? result.status,
      outcome: result.status,
    });
    return result.status;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
