import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import { DomainError, ErrorCode, LOGGER, TaskType } from '@app/domain';
import { CodegenClient } from '@app/codegen';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { HandlerResult, inputString, TaskContext, TaskHandler } from './task-handler';

/** Starts a Codegen agent run with the prompt its parent analysis recorded. */
@Injectable()
export class CodegenTriggerHandler implements TaskHandler {
  readonly taskType = TaskType.CodegenTrigger;

  constructor(
    @Inject(CodegenClient) private readonly codegen: CodegenClient | null,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle({ task, checkpoint }: TaskContext): Promise<HandlerResult> {
    const prompt = inputString(task.inputData, 'prompt');
    if (!prompt) throw new DomainError(ErrorCode.InvalidInput, 'agent trigger has no prompt');
    if (task.codegenTaskId) {
      // An earlier attempt started the run and then stopped: never start a second one.
      return {
        outputData: {
          agent_run_id: task.codegenTaskId,
          web_url: task.codegenTaskUrl,
          resumed: true,
        },
        codegen: { id: task.codegenTaskId, url: task.codegenTaskUrl },
      };
    }
    if (this.config.codegen.dryRun || !this.codegen) {
      this.logger.info('dry run: would start a Codegen agent run', {
        task_id: task.taskId,
        prompt_chars: prompt.length,
      });
      return { outputData: { dry_run: true, prompt } };
    }
    const run = await this.codegen.createAgentRun({
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
    return {
      outputData: { agent_run_id: run.id, status: run.status, web_url: run.webUrl, prompt },
      codegen: { id: run.id, url: run.webUrl },
    };
  }
}
