import { ApiProperty } from '@nestjs/swagger';

const SOURCE = {
  enum: ['default', 'server file', 'repository file'],
  example: 'default',
} as const;

/** Where each effective rule's value came from. */
export class RuleSourcesDto {
  @ApiProperty(SOURCE) events!: string;
  @ApiProperty(SOURCE) push_branches!: string;
  @ApiProperty(SOURCE) synchronize_code_file_threshold!: string;
  @ApiProperty(SOURCE) agent_runs!: string;
  @ApiProperty(SOURCE) skip_labels!: string;
  @ApiProperty(SOURCE) bot_allowlist!: string;
  @ApiProperty(SOURCE) include_cancelled_checks!: string;
  @ApiProperty(SOURCE) trust_gate!: string;
  @ApiProperty(SOURCE) trust_label!: string;
  @ApiProperty(SOURCE) max_runs_per_repo_per_day!: string;
  @ApiProperty(SOURCE) max_runs_per_author_per_day!: string;
}

/** The repository's own rules file, as the worker last read it from the default branch. */
export class RepositoryRulesFileDto {
  @ApiProperty({ example: '.github/webhook-orchestrator.yml' }) path!: string;
  @ApiProperty({
    enum: ['not_read', 'absent', 'valid', 'invalid'],
    description: 'not_read: no agent run has needed it yet (the worker reads it, not this API)',
  })
  status!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Blob SHA of the file read' })
  blob_sha!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why an invalid file was ignored' })
  problem!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) read_at!: string | null;
  @ApiProperty({
    description: 'A push to the default branch touched it since: read again next time',
  })
  stale!: boolean;
  @ApiProperty({
    type: [String],
    description: "Values of the file left out because they would widen the server's rules",
  })
  ignored!: string[];
}

/** What the trust gate decides for this payload's pull request. */
export class TrustDecisionDto {
  @ApiProperty({ enum: ['trusted', 'untrusted', 'at_run_time'] })
  decision!: string;
  @ApiProperty({
    example: 'untrusted: fork pull request',
    description: 'The rule that decided (the cancel reason of a held agent trigger)',
  })
  reason!: string;
  @ApiProperty({ nullable: true, type: Boolean }) fork!: boolean | null;
  @ApiProperty({ nullable: true, type: Boolean }) opted_in!: boolean | null;
}
