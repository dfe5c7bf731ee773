import type { ServicePolicyTuning } from '@app/platform';
import type { DynamicModule, InjectionToken, Type } from '@nestjs/common';

/** Settings of {@link CodegenClient}; policy tuning as in `ServicePolicyTuning` (timeoutMs 10000). */
export interface CodegenClientOptions extends ServicePolicyTuning {
  /** API root, e.g. `https://api.codegen.com`. */
  baseUrl: string;
  /** API token; sent as a bearer token, never logged. */
  token: string;
  /** Codegen organization id. */
  orgId: string;
}

/** Options of `CodegenModule.forRootAsync`. */
export interface CodegenModuleAsyncOptions {
  /** Modules whose providers `inject` needs. */
  imports?: Array<Type | DynamicModule>;
  /** Builds the client options, typically from a typed config object. */
  useFactory: (...args: never[]) => CodegenClientOptions | Promise<CodegenClientOptions>;
  /** Tokens whose instances are passed to `useFactory`, in order. */
  inject?: InjectionToken[];
}

/** What to ask an agent. */
export interface CreateAgentRunInput {
  prompt: string;
  /** Free-form context Codegen stores with the run (task id, repository, ...). */
  metadata?: Record<string, unknown>;
}

/** A pull request an agent run opened. */
export interface AgentRunPullRequest {
  url: string | null;
  /** From the answer, or parsed from `url` when absent. */
  number?: number;
}

/** An agent run. `status` is Codegen's, as is (ACTIVE, COMPLETE, FAILED, ...). */
export interface AgentRun {
  /** Codegen's id, stringified. */
  id: string;
  status: string;
  webUrl: string | null;
  result: string | null;
  summary: string | null;
  pullRequests: AgentRunPullRequest[];
  createdAt: string | null;
}
