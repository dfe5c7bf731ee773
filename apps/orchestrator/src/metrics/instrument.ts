// Imported first by main.ts: OpenTelemetry must patch http, express, pg and ioredis before they
// load, so this file imports the tracing module by path rather than through @app/domain's index.
import { startTracingFromEnv } from '@app/platform/tracing';

/** The orchestrator's tracing (ENABLE_TRACING, JAEGER_ENDPOINT); shut down after the app closed. */
export const tracing = startTracingFromEnv('orchestrator');
