export { classifyFile } from './classify-file';
export type { FileCategory } from './classify-file';
export {
  analyzePullRequest,
  DEFAULT_SYNCHRONIZE_CODE_FILE_THRESHOLD,
  MAX_LISTED_PULL_REQUEST_FILES,
} from './pull-request-analysis';
export type {
  ClassifiedFile,
  FileCategoryCounts,
  PullRequestAnalysis,
  PullRequestAnalysisInput,
  PullRequestFileInput,
} from './pull-request-analysis';
export { analyzeCheckFailure, categorizeCheckName } from './check-failure-analysis';
export type {
  CheckCategory,
  CheckConclusionInput,
  CheckFailureAnalysis,
  CheckFailureAnalysisInput,
  FailedCheck,
} from './check-failure-analysis';
export { MAX_PUSH_SUMMARY_FILES, summarizePush } from './push-summary';
export type { PushSummary } from './push-summary';
export { buildCodegenPrompt, MAX_CODEGEN_PROMPT_LENGTH } from './codegen-prompt';
export type { CodegenPromptContext, CodegenPromptKind } from './codegen-prompt';
