/**
 * Process-wide lifecycle flag. Set when a shutdown signal arrives, so readiness probes can turn
 * 503 at once (the load balancer stops sending) while in-flight work finishes.
 */
class Lifecycle {
  private drainingSince: Date | null = null;

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  startDraining(): void {
    this.drainingSince ??= new Date();
  }

  /** For tests that boot several apps in one process. */
  reset(): void {
    this.drainingSince = null;
  }
}

export const lifecycle = new Lifecycle();
