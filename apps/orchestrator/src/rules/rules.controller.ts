import { Body, Controller, HttpCode, Post, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { apiValidationPipe } from '../common/validation';
import { ApiErrors } from '../docs/api-errors.decorator';
import { DryRunRequestDto, DryRunResultDto } from './dto/dry-run.dto';
import { RulesDryRunService } from './rules-dry-run.service';

@ApiTags('rules')
@ApiBearerAuth()
@Controller('api/v1/rules')
@UsePipes(apiValidationPipe)
export class RulesController {
  constructor(private readonly rules: RulesDryRunService) {}

  @Post('dry-run')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Which tasks would this event create under the current rules?',
    description:
      "Routes the payload exactly as intake would, with the workflow rules of its repository: the server's, narrowed by the repository's own .github/webhook-orchestrator.yml as the worker last read it. Shows where each value came from and the trust gate's decision for the payload. Stores nothing.",
  })
  @ApiOkResponse({ type: DryRunResultDto })
  @ApiErrors(400, 401, 413, 429)
  dryRun(@Body() body: DryRunRequestDto): Promise<DryRunResultDto> {
    return this.rules.dryRun(body);
  }
}
