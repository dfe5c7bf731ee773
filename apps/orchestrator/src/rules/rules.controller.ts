import { Body, Controller, HttpCode, Inject, Post, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { extractEventFacts, routeWithRules } from '@app/domain';
import { apiValidationPipe } from '../common/validation';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import { ApiErrors } from '../docs/api-errors.decorator';
import { DryRunRequestDto, DryRunResultDto } from './dto/dry-run.dto';

@ApiTags('rules')
@ApiBearerAuth()
@Controller('api/v1/rules')
@UsePipes(apiValidationPipe)
export class RulesController {
  constructor(@Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig) {}

  @Post('dry-run')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Which tasks would this event create under the current rules?',
    description:
      'Routes the payload exactly as intake would, with the workflow rules of its repository. Stores nothing.',
  })
  @ApiOkResponse({ type: DryRunResultDto })
  @ApiErrors(400, 401, 413, 429)
  dryRun(@Body() body: DryRunRequestDto): DryRunResultDto {
    const { outcome, rules } = routeWithRules(body.event_type, body.payload, this.config.rules);
    const tasks =
      outcome.kind === 'tasks'
        ? outcome.tasks.map((t) => ({
            task_type: t.taskType,
            repository: t.repository,
            pr_number: t.prNumber,
            branch: t.branch,
            commit_sha: t.commitSha,
          }))
        : [];
    const status = { tasks: 'queued', ignored: 'ignored', pong: 'pong', installation: 'processed' }[
      outcome.kind
    ];
    return {
      event_type: body.event_type,
      repository: extractEventFacts(body.payload).repository,
      status,
      reason: outcome.kind === 'ignored' ? outcome.reason : null,
      tasks,
      rules: {
        events: rules.events,
        push_branches: rules.pushBranches,
        synchronize_code_file_threshold: rules.synchronizeCodeFileThreshold,
        agent_runs: rules.agentRuns,
        skip_labels: rules.skipLabels,
        bot_allowlist: rules.botAllowlist,
        include_cancelled_checks: rules.includeCancelledChecks,
      },
      rules_file: this.config.rules.sourceFile,
    };
  }
}
