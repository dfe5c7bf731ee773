import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../docs/api-errors.decorator';
import { AgentRunsService } from './agent-runs.service';
import { AgentRunBudgetDto } from './dto/agent-run-budget.dto';

@ApiTags('agent-runs')
@ApiBearerAuth()
@Controller('api/v1/agent-runs')
export class AgentRunsController {
  constructor(private readonly agentRuns: AgentRunsService) {}

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
