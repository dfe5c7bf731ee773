import { Controller, Get, Query, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { apiValidationPipe } from '../common/validation';
import { ApiErrors } from '../docs/api-errors.decorator';
import { AgentRunsService } from './agent-runs.service';
import { AgentRunBudgetDto } from './dto/agent-run-budget.dto';
import {
  AgentRunDto,
  AgentRunSummaryDto,
  AgentRunSummaryQuery,
  ListAgentRunsQuery,
} from './dto/agent-run-outcome.dto';

@ApiTags('agent-runs')
@ApiBearerAuth()
@Controller('api/v1/agent-runs')
@UsePipes(apiValidationPipe)
export class AgentRunsController {
  constructor(private readonly agentRuns: AgentRunsService) {}

  @Get()
  @ApiOperation({
    summary: 'Agent runs with their outcomes, newest first',
    description:
      'Each agent run started for a failing check or suite, followed to the checks that judge it: the failing check(s), the commit, Codegen’s run and status, the outcome and, for fixed runs, the time to green. Paged with limit and offset like the task list.',
  })
  @ApiOkResponse({ type: [AgentRunDto] })
  @ApiErrors(400, 401, 429)
  list(@Query() query: ListAgentRunsQuery): Promise<AgentRunDto[]> {
    return this.agentRuns.list(query);
  }

  @Get('summary')
  @ApiOperation({
    summary: 'How often the agent fixes what it is sent to fix',
    description:
      'For the runs started in the window (default the last 7 days): outcome counts, fix rate, median and p90 time to green and runs per fix, overall, per repository and per failing check name (the 20 with the most runs). Computed in PostgreSQL.',
  })
  @ApiOkResponse({ type: AgentRunSummaryDto })
  @ApiErrors(400, 401, 429)
  summary(@Query() query: AgentRunSummaryQuery): Promise<AgentRunSummaryDto> {
    return this.agentRuns.summary(query);
  }

  @Get('budget')
  @ApiOperation({
    summary: "Today's agent-run spend per repository",
    description:
      'Runs counted against the daily (UTC) budgets per repository and per pull-request author, with the limits in force.',
  })
  @ApiOkResponse({ type: AgentRunBudgetDto })
  @ApiErrors(401, 429)
  budget(): Promise<AgentRunBudgetDto> {
    return this.agentRuns.budget();
  }
}
