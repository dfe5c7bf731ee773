import { ApiProperty } from '@nestjs/swagger';

export class AuthorSpendDto {
  @ApiProperty({ example: 'octocat', description: 'Pull-request author (login, lower case)' })
  author!: string;
  @ApiProperty({ example: 2 }) runs!: number;
}

export class RepositorySpendDto {
  @ApiProperty({ example: 'octo-org/app', description: 'Repository (lower case)' })
  repository!: string;
  @ApiProperty({ example: 7, description: 'Agent runs counted today' })
  runs!: number;
  @ApiProperty({
    example: 50,
    description:
      "The repository's daily budget in force at its latest run (the server's, or lower from the repository's own rules file)",
  })
  limit!: number;
  @ApiProperty({ example: 43 }) remaining!: number;
  @ApiProperty({ type: [AuthorSpendDto], description: 'Runs by pull-request author, most first' })
  authors!: AuthorSpendDto[];
}

export class AgentRunBudgetDto {
  @ApiProperty({
    example: '2026-12-01',
    description: 'The UTC day counted (budgets reset at 00:00 UTC)',
  })
  day!: string;
  @ApiProperty({ example: 50, description: 'AGENT_MAX_RUNS_PER_REPO_PER_DAY (server default)' })
  max_runs_per_repo_per_day!: number;
  @ApiProperty({ example: 10, description: 'AGENT_MAX_RUNS_PER_AUTHOR_PER_DAY (server default)' })
  max_runs_per_author_per_day!: number;
  @ApiProperty({
    type: [RepositorySpendDto],
    description:
      "Today's spend per repository, most spent first. A run counts from the moment it passes every check; a trigger that then failed without starting a run gives its place back.",
  })
  repositories!: RepositorySpendDto[];
}
