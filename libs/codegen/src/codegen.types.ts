import type { ClientModuleAsyncOptions, ServicePolicyTuning } from '@app/platform';

/** Settings of {@link CodegenClient}; policy tuning as in `ServicePolicyTuning` (timeoutMs 10000). */
export interface CodegenClientOptions extends ServicePolicyTuning {
  /** API root, e.g. `https://api.codegen.com`. */
  baseUrl: string;
  /** API token; sent as a bearer token, never logged. */
  token: string;
  /** Codegen organization id: a positive integer (Codegen answers 422 to anything else). */
  orgId: number | string;
  /** How long the organization's repository list is reused before it is read again. Default 300000. */
  repoCacheMs?: number;
  /** How far back (minutes before the request) `findRunByTaskId` looks. Default 60 min. */
  runSearchWindowMs?: number;
}

/** Options of `CodegenModule.forRootAsync`. */
export type CodegenModuleAsyncOptions = ClientModuleAsyncOptions<CodegenClientOptions>;

/** What to ask an agent (`CreateAgentRunInput` of Codegen's API). */
export interface CreateAgentRunInput {
  prompt: string;
  /** JSON Codegen stores with the run and returns on reads: how a run is found again. */
  metadata?: Record<string, unknown>;
  /** Codegen's id of the repository; without it Codegen picks the repository itself. */
  repoId?: number;
  /**
   * Epoch ms: the request is not sent at or after this time (checked right before it leaves);
   * {@link AgentRunCreateNotSentError} instead. Not part of the request body.
   */
  sendBy?: number;
}

/** A pull request an agent run opened. */
export interface AgentRunPullRequest {
  url: string | null;
  title?: string | null;
  /** Parsed from `url` (Codegen's answer has no number field). */
  number?: number;
}

/**
 * An agent run (`AgentRunResponse`). Only `id` is sure to be there: every other field may be
 * null, and one that does not match the published shape reads as null with a note in `problems`.
 */
export interface AgentRun {
  /** Codegen's integer id, as a string. */
  id: string;
  /** As Codegen sent it (PENDING, ACTIVE, COMPLETE, ...); null when not known yet. */
  status: string | null;
  webUrl: string | null;
  result: string | null;
  summary: string | null;
  sourceType: string | null;
  pullRequests: AgentRunPullRequest[];
  createdAt: string | null;
  metadata: Record<string, unknown> | null;
  /** What did not match the published contract (e.g. `body.web_url is not a string`). */
  problems: string[];
}

/** A repository Codegen knows in the organization. */
export interface CodegenRepository {
  id: number;
  fullName: string;
}

/** An answer that did not match Codegen's published contract; `raw` is scrubbed and bounded. */
export interface CodegenBadAnswer {
  operation: string;
  httpStatus: number;
  problem: string;
  raw: string;
}
