import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, Matches } from 'class-validator';
import { RepositoryRulesFileDto, RuleSourcesDto, TrustDecisionDto } from './agent-trust.dto';

export class DryRunRequestDto {
  @ApiProperty({
    example: 'pull_request',
    description: 'The X-GitHub-Event the delivery would carry',
  })
  @Matches(/^[a-z_]{1,64}$/, { message: 'event_type must be a GitHub event name (a-z and _)' })
  event_type!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'A GitHub webhook payload',
  })
  @IsObject({ message: 'payload must be a JSON object' })
  payload!: Record<string, unknown>;
}

export class DryRunTaskDto {
  @ApiProperty({ example: 'pull_request_analysis' }) task_type!: string;
  @ApiProperty({ nullable: true, type: String }) repository!: string | null;
  @ApiProperty({ nullable: true, type: Number }) pr_number!: number | null;
  @ApiProperty({ nullable: true, type: String }) branch!: string | null;
  @ApiProperty({ nullable: true, type: String }) commit_sha!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      "Why the worker would end this task cancelled under the repository's own rules file (as the worker last read it), naming the rule and its source; null: it would run",
    example:
      'push_branches: pushes to release are not analysed for this repository (only main, set by its .github/webhook-orchestrator.yml)',
  })
  skip_reason!: string | null;
}

export class EffectiveRulesDto {
  @ApiProperty({ type: [String] }) events!: string[];
  @ApiProperty({ type: [String], nullable: true }) push_branches!: string[] | null;
  @ApiProperty() synchronize_code_file_threshold!: number;
  @ApiProperty() agent_runs!: boolean;
  @ApiProperty({ type: [String] }) skip_labels!: string[];
  @ApiProperty({ type: [String] }) bot_allowlist!: string[];
  @ApiProperty() include_cancelled_checks!: boolean;
  @ApiProperty({
    description: 'Only OWNER/MEMBER/COLLABORATOR pull requests from the base repository',
  })
  trust_gate!: boolean;
  @ApiProperty({ nullable: true, type: String, example: 'agent:allow' })
  trust_label!: string | null;
  @ApiProperty({ example: 50 }) max_runs_per_repo_per_day!: number;
  @ApiProperty({ example: 10 }) max_runs_per_author_per_day!: number;
}

export class DryRunResultDto {
  @ApiProperty() event_type!: string;
  @ApiProperty({ nullable: true, type: String }) repository!: string | null;
  @ApiProperty({ example: 'queued', enum: ['queued', 'ignored', 'pong', 'processed'] })
  status!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Why nothing would be created' })
  reason!: string | null;
  @ApiProperty({ type: [DryRunTaskDto] }) tasks!: DryRunTaskDto[];
  @ApiProperty({
    type: EffectiveRulesDto,
    description:
      "The rules in force for this repository: the server's, narrowed by the repository's own file",
  })
  rules!: EffectiveRulesDto;
  @ApiProperty({ nullable: true, type: String, description: 'The rules file in use, if any' })
  rules_file!: string | null;
  @ApiProperty({ type: RuleSourcesDto, description: 'Where each rule value came from' })
  rule_sources!: RuleSourcesDto;
  // Absent rather than null: OpenAPI 3.0's `nullable` does not reach a referenced schema, so a
  // null here would contradict the document.
  @ApiPropertyOptional({
    type: RepositoryRulesFileDto,
    description: "The repository's own rules file; absent when the payload names no repository",
  })
  repository_file?: RepositoryRulesFileDto;
  @ApiProperty({ type: TrustDecisionDto, description: 'The trust gate for this payload' })
  trust!: TrustDecisionDto;
}
