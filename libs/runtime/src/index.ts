// What both apps run on: Bull queues and the enqueuer, the Nest modules that wire PostgreSQL,
// Bull and observability, health and readiness, task telemetry, the rules settings.
// Imports @app/domain, @app/platform and @app/persistence.
export * from './queues/queue-names';
export * from './queues/task-enqueuer';
export * from './nest/persistence.module';
export * from './observability/task-telemetry';
export * from './observability/system-state.collector';
export * from './observability/health-report';
export * from './observability/probes';
export * from './observability/observability.module';
export * from './rules/rules.config';
