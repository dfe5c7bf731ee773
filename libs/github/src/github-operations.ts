/**
 * Every GitHub API call the client makes, as the `operation` label of `github_api_requests_total`
 * and of its span. The client's request methods take only these names, so a new call cannot be
 * made without adding it here; the worker creates each one's request counters at 0 at start.
 */
export const GITHUB_OPERATIONS = [
  'list_pull_request_files',
  'get_pull_request',
  'list_check_runs',
  'get_commit',
  'list_commit_pulls',
  'get_check_run',
  'list_annotations',
  'get_repository_content',
  'create_comment',
  'update_comment',
  'list_hook_deliveries',
  'redeliver_hook_delivery',
  'create_installation_token',
] as const;

export type GithubOperation = (typeof GITHUB_OPERATIONS)[number];
