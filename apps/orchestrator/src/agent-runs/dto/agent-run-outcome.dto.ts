import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { AGENT_OUTCOMES, AgentOutcome } from '@app/domain';
import { PagingQuery } from '../../common/paging.dto';

/** owner/name, as GitHub allows them. */
const REPOSITORY = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

/**
 * A look-back (`30m`, `24h`, `7d`) or an ISO 8601 date, or date-time with a zone. The service
 * turns it into an instant and refuses one it cannot place (a look-back over 366 days, an
 * impossible date).
 */
const SINCE =
  /^(\d{1,6}[mhd]|\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?)$/;
const SINCE_MESSAGE =
  'since must be a look-back such as 30m, 24h or 7d, or an ISO 8601 date or date-time with a zone';

const SINCE_DESCRIPTION =
  'a look-back from now in minutes, hours or days (`30m`, `24h`, `7d`; at most 366 days), or an ISO 8601 date or date-time with a zone (`2026-12-01`, `2026-12-01T08:00:00Z`)';

export class ListAgentRunsQuery extends PagingQuery {
  @ApiPropertyOptional({
    description: 'Only runs for this repository (owner/name), e.g. `octo-org/app`',
  })
  @IsOptional()
  @Matches(REPOSITORY, { message: 'repository must look like owner/name' })
  repository?: string;

  @ApiPropertyOptional({ enum: AGENT_OUTCOMES, description: 'Only runs with this outcome' })
  @IsOptional()
  @IsIn(AGENT_OUTCOMES, { message: `outcome must be one of ${AGENT_OUTCOMES.join(', ')}` })
  outcome?: AgentOutcome;

  @ApiPropertyOptional({ description: `Only runs started since: ${SINCE_DESCRIPTION}` })
  @IsOptional()
  @Matches(SINCE, { message: SINCE_MESSAGE })
  since?: string;
}

export class AgentRunSummaryQuery {
  @ApiPropertyOptional({
    default: '7d',
    description: `The runs counted are those started since: ${SINCE_DESCRIPTION}`,
  })
  @IsOptional()
  @Matches(SINCE, { message: SINCE_MESSAGE })
  since: string = '7d';

  @ApiPropertyOptional({
    description: 'Only runs for this repository (owner/name), e.g. `octo-org/app`',
  })
  @IsOptional()
  @Matches(REPOSITORY, { message: 'repository must look like owner/name' })
  repository?: string;
}

export class AgentRunDto {
  @ApiProperty({
    format: 'uuid',
    example: '3f1c2b9e-8d4a-4b7e-9c1d-2a6f0e5b7c44',
    description: 'The codegen_trigger task that started the run (GET /api/v1/tasks/{task_id})',
  })
  task_id!: string;
  @ApiProperty({ example: 'octo-org/app', description: 'Repository (lower case)' })
  repository!: string;
  @ApiProperty({ nullable: true, type: Number, example: 42 }) pr_number!: number | null;
  @ApiProperty({
    example: 'check_failure',
    description:
      'What sent the agent: a failing check run, a failing check suite, a pull-request analysis',
  })
  trigger_kind!: string;
  @ApiProperty({
    enum: ['check_run', 'check_suite'],
    example: 'check_run',
    description: 'Whether failing_checks names check runs or a check suite (by its app)',
  })
  check_scope!: string;
  @ApiProperty({
    type: [String],
    example: ['test (20.x)'],
    description: 'The check(s) whose failure sent the agent',
  })
  failing_checks!: string[];
  @ApiProperty({
    example: '6dcb09b5b57875f334f61aebed695e2e4193db5e',
    description: 'The head commit the run was started for',
  })
  head_sha!: string;
  @ApiProperty({ nullable: true, type: String, example: '9876' }) codegen_run_id!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'COMPLETE',
    description: "Codegen's last reported status of the run",
  })
  codegen_status!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'https://codegen.com/agent/trace/9876',
    description: "The run's page at Codegen",
  })
  web_url!: string | null;
  @ApiProperty({
    type: [Number],
    example: [],
    description: 'Pull requests the run reported as its own',
  })
  agent_pr_numbers!: number[];
  @ApiProperty({
    enum: AGENT_OUTCOMES,
    example: 'fixed',
    description:
      'pending: working, or finished and not judged yet; fixed: a newer head passed the check(s) that had failed; still_failing: it failed them again; superseded: someone else pushed first; no_change: nothing from the agent within the window; run_failed: Codegen’s run ended without success',
  })
  outcome!: string;
  @ApiProperty({
    type: [String],
    example: [],
    description: 'For still_failing: the checks that failed again on the agent’s commit',
  })
  still_failing_checks!: string[];
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 840,
    description: 'For fixed runs: from the failing check’s completion to the passing check’s',
  })
  time_to_green_seconds!: number | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'uuid',
    example: null,
    description: 'The task id of the run this one follows up (its first try failed again)',
  })
  follow_up_of!: string | null;
  @ApiProperty({ example: '2026-12-01T08:00:00.000Z' }) created_at!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '2026-12-01T08:09:30.000Z',
    description: 'When Codegen’s run ended',
  })
  finished_at!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '2026-12-01T08:14:00.000Z',
    description: 'When the outcome was decided; null while pending',
  })
  judged_at!: string | null;
}

export class OutcomeFiguresDto {
  @ApiProperty({
    example: 40,
    description: 'Agent runs started in the window (follow-ups included)',
  })
  runs!: number;
  @ApiProperty({ example: 3 }) pending!: number;
  @ApiProperty({ example: 22 }) fixed!: number;
  @ApiProperty({ example: 6 }) still_failing!: number;
  @ApiProperty({ example: 2 }) superseded!: number;
  @ApiProperty({ example: 4 }) no_change!: number;
  @ApiProperty({ example: 3 }) run_failed!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 0.6286,
    description:
      'fixed / (fixed + still_failing + no_change + run_failed), to 4 decimals; superseded and pending runs are not judged against the agent. null when none was judged',
  })
  fix_rate!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 780,
    description: 'Median time to green of the fixed runs, in seconds (to 0.1 s); null when none',
  })
  time_to_green_median_seconds!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 2310.5,
    description: '90th percentile of the same (interpolated between runs, as the median is)',
  })
  time_to_green_p90_seconds!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 1.68,
    description:
      'Agent runs spent per fix: runs that are no longer pending / fixed, to 2 decimals; null when none was fixed',
  })
  runs_per_fix!: number | null;
}

export class RepositoryOutcomesDto extends OutcomeFiguresDto {
  @ApiProperty({ example: 'octo-org/app' }) repository!: string;
}

export class CheckOutcomesDto extends OutcomeFiguresDto {
  @ApiProperty({
    example: 'test (20.x)',
    description:
      'A failing check run name, or a check suite’s app; a run sent for two checks counts for each',
  })
  check!: string;
}

export class AgentRunSummaryDto {
  @ApiProperty({
    example: '2026-11-24T08:00:00.000Z',
    description: 'The window’s start: runs started at or after it are counted',
  })
  since!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: null,
    description: 'The repository filter, or null for all',
  })
  repository!: string | null;
  @ApiProperty({ type: OutcomeFiguresDto, description: 'All runs of the window' })
  overall!: OutcomeFiguresDto;
  @ApiProperty({
    type: [RepositoryOutcomesDto],
    description:
      'Per repository, most runs first; at most 100 (repository_count says how many had runs)',
  })
  repositories!: RepositoryOutcomesDto[];
  @ApiProperty({ example: 1, description: 'Repositories with runs in the window' })
  repository_count!: number;
  @ApiProperty({
    type: [CheckOutcomesDto],
    description: 'Per failing check name, the 20 with the most runs',
  })
  checks!: CheckOutcomesDto[];
}
