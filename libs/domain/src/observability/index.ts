// tracing.ts is not re-exported: it loads the OpenTelemetry SDK and must be imported (by path)
// before anything it instruments, see apps/*/src/**/instrument.ts.
export * from './log-context';
export * from './job-telemetry';
export * from './metric-labels';
export * from './metrics-registry';
export * from './task-telemetry';
export * from './request-events';
export * from './service-health';
export * from './external-service-telemetry';
export * from './worker-heartbeats';
export * from './system-state.collector';
export * from './health-report';
export * from './probes';
export * from './tracing-status';
export * from './observability.module';
export * from './zero-series';
