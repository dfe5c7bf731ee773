/*
 * Kept apart from tracing.ts so reading the status does not load the OpenTelemetry SDK.
 */
let status = 'tracing off: not started';

/** What the process's tracing setup did, for the start-up log. */
export function tracingStatus(): string {
  return status;
}

export function setTracingStatus(description: string): void {
  status = description;
}
