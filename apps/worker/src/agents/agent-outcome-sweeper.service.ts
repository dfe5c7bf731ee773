import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'winston';
import { LOGGER } from '@app/platform';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { AgentOutcomes } from './agent-outcomes.service';

/**
 * Judges `no_change` once AGENT_OUTCOME_WINDOW has passed after a run's end with nothing from
 * the agent. Every worker sweeps; the row lock judges each outcome once.
 */
@Injectable()
export class AgentOutcomeSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly outcomes: AgentOutcomes,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.agent.outcomeSweepIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.outcomes.sweep();
    } catch (error) {
      this.logger.warn('agent outcome sweep failed; trying again at the next interval', {
        error: String(error),
      });
    } finally {
      this.running = false;
    }
  }
}
