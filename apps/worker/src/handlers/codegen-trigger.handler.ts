import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import { TaskType } from '@app/domain';
import { DomainError, ErrorCode, LOGGER } from '@app/platform';
import { WorkflowTaskEntity } from '@app/persistence';
import {
  AgentRun,
  AgentRunCreateUnconfirmedError,
  CodegenClient,
  CreateAgentRunInput,
} from '@app/codegen';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { AgentOutcomes } from '../agents/agent-outcomes.service';
import { AgentPolicy } from './agent-policy';
import { PrCommenter } from './pr-commenter';
import {
  HandlerResult,
  HoldAttemptError,
  inputString,
  TaskContext,
  TaskHandler,
} from './task-handler';

/** An attempt's lease is its deadline (TASK_TIMEOUT_MS) plus this (see TaskRunner). */
const ATTEMPT_LEASE_MARGIN_MS = 5_000;

/**
 * Starts a Codegen agent run with the prompt its parent analysis recorded, after the safety
 * checks of {@link AgentPolicy}; the run is then followed to its end by the poller.
 *
 * Exactly one run per trigger: the request mark (`agent_run_requested_at`) is written before
 * Codegen is asked, and every create carries the task id in its `metadata`. When an answer is
 * lost (timeout, connection cut, a 2xx without a readable run), the next attempt finds the run in
 * Codegen's list of API runs by that task id and follows it; only when none shows up within
 * CODEGEN_RECONCILE_GRACE_MS of the request, and not before the asking attempt's lease could
 * have ended, does it ask again. An attempt sends no create past its deadline (`sendBy`), so a
 * worker that stalled with its request unsent (a paused process) cannot add a second run after
 * another worker took the task over; nor comment, as its claim is gone (the checkpoint fails).
 */
@Injectable()
export class CodegenTriggerHandler implements TaskHandler {
  readonly taskType = TaskType.CodegenTrigger;

  constructor(
    @Inject(CodegenClient) private readonly codegen: CodegenClient | null,
    private readonly policy: AgentPolicy,
    private readonly commenter: PrCommenter,
    private readonly outcomes: AgentOutcomes,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(ctx: TaskContext): Promise<HandlerResult> {
    const { task, event } = ctx;
    const prompt = inputString(task.inputData, 'prompt');
    if (!prompt) throw new DomainError(ErrorCode.InvalidInput, 'agent trigger has no prompt');
    if (task.codegenTaskId) {
      // An earlier attempt started the run and then stopped: follow that run, never start another.
      await this.outcomes.runStarted(task, {
        id: task.codegenTaskId,
        webUrl: task.codegenTaskUrl,
        status: null,
      });
      return {
        outputData: {
          ...(task.outputData ?? {}),
          agent_run_id: task.codegenTaskId,
          web_url: task.codegenTaskUrl,
          resumed: true,
        },
        codegen: { id: task.codegenTaskId, url: task.codegenTaskUrl },
        waitForAgentRun: !this.config.codegen.dryRun,
      };
    }
    if (task.agentRunRequestedAt && this.codegen) {
      // An earlier attempt asked Codegen and never learnt the answer: the run may exist.
      const found = await this.reconcile(ctx, this.codegen, task.agentRunRequestedAt);
      if (found) return this.follow(ctx, found, prompt, { adopted: true });
    }
    const refusal = await this.policy.refusal(task, event);
    if (refusal) {
      this.logger.info('agent run skipped by policy', { task_id: task.taskId, reason: refusal });
      // A refused follow-up leaves the failure to a human: the run it follows up says so.
      await this.outcomes.followUpRefused(task, refusal).catch((error: unknown) =>
        this.logger.warn('could not tell that the follow-up agent run was refused', {
          task_id: task.taskId,
          error: String(error),
        }),
      );
      return { outputData: { skipped: true, reason: refusal, prompt }, cancel: refusal };
    }
    if (this.config.codegen.dryRun || !this.codegen) {
      this.logger.info('dry run: would start a Codegen agent run', {
        task_id: task.taskId,
        prompt_chars: prompt.length,
      });
      return { outputData: { dry_run: true, prompt } };
    }
    const repoId = await this.repoIdFor(task, this.codegen);
    if (repoId === null) {
      const reason =
        `Codegen does not know the repository ${task.repository ?? ''} (it is not connected to ` +
        `Codegen organization ${this.config.codegen.orgId}); no agent run was started`;
      this.logger.info('agent run skipped: repository unknown to Codegen', {
        task_id: task.taskId,
        repository: task.repository,
      });
      return { outputData: { skipped: true, reason, prompt }, cancel: reason };
    }
    const run = await this.createOnce(ctx, this.codegen, {
      prompt,
      metadata: {
        task_id: task.taskId,
        repository: task.repository,
        pr_number: task.prNumber,
        head_sha: task.commitSha,
        trigger_kind: inputString(task.inputData, 'trigger_kind'),
      },
      ...(repoId !== undefined ? { repoId } : {}),
    });
    return this.follow(ctx, run, prompt, repoId !== undefined ? { repo_id: repoId } : {});
  }

  /** Saves the run id at once, comments on the PR, and hands the task to the poller. */
  private async follow(
    { task, event, checkpoint }: TaskContext,
    run: AgentRun,
    prompt: string,
    extra: Record<string, unknown>,
  ): Promise<HandlerResult> {
    if (!(await checkpoint({ codegenTaskId: run.id, codegenTaskUrl: run.webUrl }))) {
      // Another worker holds the task now (this one stalled past its lease): it follows the run
      // (found by its metadata) and comments once; this attempt leaves both to it.
      throw new DomainError(
        ErrorCode.Duplicate,
        `the task was taken over by another attempt while agent run ${run.id} was being started; that attempt follows it`,
      );
    }
    // Written before the comment: the outcome is what later deliveries judge.
    await this.outcomes.runStarted(task, run);
    const installationId =
      event?.installationId ??
      (typeof task.inputData.installation_id === 'number' ? task.inputData.installation_id : null);
    const commentId = await this.commenter.runStarted(task, run.id, run.webUrl, installationId);
    return {
      outputData: {
        agent_run_id: run.id,
        agent_run_status: run.status,
        agent_run_started_at: new Date().toISOString(),
        web_url: run.webUrl,
        prompt,
        ...extra,
        ...(run.problems.length > 0
          ? { agent_run_answer_problems: run.problems.slice(0, 10) }
          : {}),
        ...(commentId !== null ? { pr_comment_id: commentId } : {}),
        ...(installationId !== null ? { installation_id: installationId } : {}),
      },
      codegen: { id: run.id, url: run.webUrl },
      waitForAgentRun: true,
    };
  }

  /**
   * Codegen's id of the task's repository (undefined: the task names none, so Codegen chooses;
   * null: Codegen does not know it).
   */
  private async repoIdFor(
    task: WorkflowTaskEntity,
    codegen: CodegenClient,
  ): Promise<number | null | undefined> {
    if (!task.repository) return undefined;
    const repo = await codegen.findRepository(task.repository);
    return repo ? repo.id : null;
  }

  /**
   * Looks for the run a lost create may have made. Returns it, or null once the grace has passed
   * without it (the caller then asks again). Within the grace, waits inside this attempt when the
   * rest of the grace fits, else holds the task (no attempt spent) so a later attempt looks again.
   */
  private async reconcile(
    { task, signal }: TaskContext,
    codegen: CodegenClient,
    requestedAt: Date,
  ): Promise<AgentRun | null> {
    // Not before the attempt that asked could have sent its request: an attempt sends nothing
    // past its deadline (`sendBy`), which ends before its lease, counted from its claim (before
    // its mark). A worker that stalled mid-request can therefore not add a run after this one.
    const grace = Math.max(
      this.config.codegen.reconcileGraceMs,
      this.config.task.timeoutMs + ATTEMPT_LEASE_MARGIN_MS,
    );
    // Room left in this attempt for a wait and two more calls.
    const inlineBudget = Math.max(
      0,
      this.config.task.timeoutMs - 3 * this.config.codegen.timeoutMs,
    );
    for (;;) {
      const found = await codegen.findRunByTaskId(task.taskId, requestedAt);
      if (found) {
        this.logger.info('found the agent run a lost create made; following it', {
          task_id: task.taskId,
          agent_run_id: found.id,
          requested_at: requestedAt.toISOString(),
        });
        return found;
      }
      const left = grace - (Date.now() - requestedAt.getTime());
      if (left <= 0) {
        this.logger.warn('no agent run found for a lost create after the grace; asking again', {
          task_id: task.taskId,
          requested_at: requestedAt.toISOString(),
        });
        return null;
      }
      if (left > inlineBudget) {
        // A wait, not a failure: the task keeps its attempts.
        throw new HoldAttemptError(
          `the agent run requested at ${requestedAt.toISOString()} got no answer and is not in Codegen's run list yet; looking again before asking again`,
          left,
        );
      }
      await sleep(left, signal);
    }
  }

  /**
   * Creates the run under the request mark. An answer that says Codegen started nothing (an
   * HTTP error, a refused connection, an open circuit) clears the mark so the next attempt may
   * ask again; a lost answer keeps it, and the next attempt looks for the run first.
   */
  private async createOnce(
    { task, markAgentRunRequested, sendBy }: TaskContext,
    codegen: CodegenClient,
    input: CreateAgentRunInput,
  ): Promise<AgentRun> {
    // Written first, so a worker that dies with the request in flight leaves a trace.
    if (!(await markAgentRunRequested(true))) {
      throw new DomainError(
        ErrorCode.Duplicate,
        'the task was taken over by another attempt; this one does not request an agent run',
      );
    }
    try {
      return await codegen.createAgentRun({ ...input, sendBy });
    } catch (error) {
      if (error instanceof AgentRunCreateUnconfirmedError) {
        this.logger.warn(
          'agent run creation got no usable answer; the next attempt looks for the run',
          {
            task_id: task.taskId,
            error: error.message,
          },
        );
        throw error;
      }
      // Codegen refused: the next attempt may ask again. If this write fails too, the mark stays
      // and the next attempt looks for a run first (the safe side); the cause is kept.
      await markAgentRunRequested(false).catch(() => false);
      throw error;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('attempt aborted'));
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error('attempt aborted'));
      },
      { once: true },
    );
  });
}
