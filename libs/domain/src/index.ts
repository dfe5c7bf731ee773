// The domain: what a GitHub event means and what work it asks for. Imports nothing of ours and
// no framework, database, queue, HTTP or telemetry package (enforced in eslint.config.mjs).
export * from './tasks/task-type';
export * from './checks/failing-check';
export * from './routing';
export * from './analysis';
export * from './rules/workflow-rules';
export * from './rules/route-with-rules';
export * from './rules/repository-rules';
export * from './agents';
