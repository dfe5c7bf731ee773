// Imported first by main.ts: OpenTelemetry must patch http, pg and ioredis before they load, so
// this file imports the tracing module by path rather than through @app/domain's index.
import { startTracingFromEnv } from '@app/platform/tracing';

/** The worker's tracing (ENABLE_TRACING, JAEGER_ENDPOINT); shut down after the app closed. */
export const tracing = startTracingFromEnv('worker');
