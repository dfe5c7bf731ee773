/**
 * Every Codegen API call the client makes, as the `operation` label of
 * `codegen_api_requests_total` and of its span. The client's request methods take only these
 * names, so a new call cannot be made without adding it here; the worker creates each one's
 * request counters at 0 at start.
 */
export const CODEGEN_OPERATIONS = [
  'create_agent_run',
  'get_agent_run',
  'list_agent_runs',
  'list_repositories',
  'remove_agent_from_pr',
] as const;

export type CodegenOperation = (typeof CODEGEN_OPERATIONS)[number];
