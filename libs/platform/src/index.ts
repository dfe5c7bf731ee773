// Platform plumbing both apps and both clients build on. Imports no other lib of ours.
// observability/tracing.ts is not re-exported: it loads the OpenTelemetry SDK and must be imported
// (as '@app/platform/tracing') before anything it instruments, see apps/*/src/**/instrument.ts.
export * from './config/env-reader';
export * from './config/common.config';
export * from './config/transport.config';
export * from './config/secret-strength';
export * from './errors/domain-error';
export * from './logging/log-context';
export * from './logging/json-logger';
export * from './logging/lifecycle';
export * from './logging/shutdown';
export * from './observability/job-telemetry';
export * from './observability/metrics-registry';
export * from './observability/request-events';
export * from './observability/service-health';
export * from './observability/external-service-telemetry';
export * from './observability/worker-heartbeats';
export * from './observability/tracing-status';
export * from './observability/zero-series';
export * from './resilience';
export * from './http/http-answers';
export * from './http/request-meter';
export * from './http/client-module';
export * from './transport';
export * from './audit/audit-types';
export * from './audit/audit-trail';
export * from './audit/security-metrics';
