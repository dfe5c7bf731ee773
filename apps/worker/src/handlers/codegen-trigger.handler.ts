import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import { TaskType } from '@app/domain';
import {
  CircuitOpenError,
  DomainError,
  ErrorCode,
  ExternalServiceError,
  LOGGER,
} from '@app/platform';
import { CodegenClient } from '@app/codegen';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { AgentPolicy } from './agent-policy';
import { PrCommenter } from './pr-commenter';
import { HandlerResult, inputString, TaskContext, TaskHandler } from './task-handler';

/**
 * Starts a Codegen agent run with the prompt its parent analysis recorded, after the safety
 * checks of {@link AgentPolicy}; the run is then followed to its end by the poller.
 */
@Injectable()
export class CodegenTriggerHandler implements TaskHandler {
  readonly taskType = TaskType.CodegenTrigger;

  constructor(
    @Inject(CodegenClient) private readonly codegen: CodegenClient | null,
    private readonly policy: AgentPolicy,
    private readonly commenter: PrCommenter,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle({
    task,
    event,
    checkpoint,
    markAgentRunRequested,
  }: TaskContext): Promise<HandlerResult> {
    const prompt = inputString(task.inputData, 'prompt');
    if (!prompt) throw new DomainError(ErrorCode.InvalidInput, 'agent trigger has no prompt');
    if (task.codegenTaskId) {
      // An earlier attempt started the run and then stopped: follow that run, never start another.
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
    if (task.agentRunRequestedAt) {
      // An earlier attempt asked Codegen and its worker stopped before the answer was saved.
      throw new DomainError(
        ErrorCode.InvalidInput,
        `an earlier attempt requested an agent run at ${task.agentRunRequestedAt.toISOString()} and stopped ` +
          'before saving the answer; a run may have started at Codegen, so it is not requested again: ' +
          'check Codegen, then retry the task with ?force=true if none started',
      );
    }
    const refusal = await this.policy.refusal(task, event);
    if (refusal) {
      this.logger.info('agent run skipped by policy', { task_id: task.taskId, reason: refusal });
      return { outputData: { skipped: true, reason: refusal, prompt }, cancel: refusal };
    }
    if (this.config.codegen.dryRun || !this.codegen) {
      this.logger.info('dry run: would start a Codegen agent run', {
        task_id: task.taskId,
        prompt_chars: prompt.length,
      });
      return { outputData: { dry_run: true, prompt } };
    }
    const run = await this.createOnce(markAgentRunRequested, {
      prompt,
      metadata: {
        task_id: task.taskId,
        repository: task.repository,
        pr_number: task.prNumber,
        head_sha: task.commitSha,
        trigger_kind: inputString(task.inputData, 'trigger_kind'),
      },
    });
    await checkpoint({ codegenTaskId: run.id, codegenTaskUrl: run.webUrl });
    const installationId = event?.installationId ?? null;
    const commentId = await this.commenter.runStarted(task, run.id, run.webUrl, installationId);
    return {
      outputData: {
        agent_run_id: run.id,
        agent_run_status: run.status,
        agent_run_started_at: new Date().toISOString(),
        web_url: run.webUrl,
        prompt,
        ...(commentId !== null ? { pr_comment_id: commentId } : {}),
        ...(installationId !== null ? { installation_id: installationId } : {}),
      },
      codegen: { id: run.id, url: run.webUrl },
      waitForAgentRun: true,
    };
  }

  /**
   * Creates the run, but never twice: when the request may have reached Codegen without an
   * answer (a timeout, a connection cut mid-request), a retry could start a second run, so the
   * task fails instead, saying so. 429s, refused connections and an open circuit are retried:
   * Codegen provably did nothing.
   */
  private async createOnce(
    markRequested: TaskContext['markAgentRunRequested'],
    input: Parameters<CodegenClient['createAgentRun']>[0],
  ) {
    const codegen = this.codegen as CodegenClient;
    // Written first, so a worker that dies with the request in flight leaves a trace.
    if (!(await markRequested(true))) {
      throw new DomainError(
        ErrorCode.Duplicate,
        'the task was taken over by another attempt; this one does not request an agent run',
      );
    }
    try {
      return await codegen.createAgentRun(input);
    } catch (error) {
      if (!creationMayHaveHappened(error)) {
        // Codegen refused: the next attempt may ask again. If this write fails too, the mark
        // stays and the next attempt stops for an operator (the safe side); the cause is kept.
        await markRequested(false).catch(() => false);
        throw error;
      }
      throw new DomainError(
        ErrorCode.InvalidInput,
        `agent run creation got no answer (${(error as Error).message}); a run may have started at Codegen, ` +
          'so it is not retried automatically: check Codegen, then retry the task with ?force=true if none started',
      );
    }
  }
}

function creationMayHaveHappened(error: unknown): boolean {
  if (!(error instanceof ExternalServiceError) || error instanceof CircuitOpenError) return false;
  // An HTTP answer says what happened: 429 and 5xx mean the run was not created.
  if (error.status !== undefined) return false;
  return !/ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(error.message);
}
