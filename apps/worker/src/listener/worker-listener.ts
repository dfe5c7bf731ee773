import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Registry } from 'prom-client';
import type { Logger } from 'winston';
import { LOGGER, METRICS_REGISTRY } from '@app/platform';
import { HealthReporter, Probes } from '@app/runtime';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';

type Route = () => Promise<{ status: number; body: unknown; contentType?: string }>;

/**
 * The worker's only HTTP surface, on WORKER_HEALTH_HOST:WORKER_HEALTH_PORT: `/health/live` and
 * `/health/ready` (Terminus) for Kubernetes, `/health` (the spec's body) and `/metrics` for
 * Prometheus. GET and HEAD only; nothing here changes state.
 */
@Injectable()
export class WorkerListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | null = null;
  private readonly routes: Record<string, Route>;

  constructor(
    private readonly probes: Probes,
    private readonly reporter: HealthReporter,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.routes = {
      '/health/live': async () => this.json(await this.probes.live()),
      '/health/ready': async () => this.json(await this.probes.ready()),
      '/health': async () => this.json(await this.reporter.report()),
    };
    if (config.enableMetrics) {
      this.routes['/metrics'] = async () => ({
        status: 200,
        body: await this.registry.metrics(),
        contentType: this.registry.contentType,
      });
    }
  }

  /** The bound address (the real port when WORKER_HEALTH_PORT is 0). */
  address(): { host: string; port: number } | null {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? { host: address.address, port: address.port } : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
    const { host, port } = this.config.listener;
    // A port already taken must stop the start-up, not leave a worker nobody can probe.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.info('worker health and metrics listener', {
      ...this.address(),
      metrics: this.config.enableMetrics,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://listener').pathname.replace(/\/+$/, '') || '/';
    const route = this.routes[path];
    try {
      if (!route) return this.send(req, res, 404, errorBody(404, 'not found', path));
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        return this.send(req, res, 405, errorBody(405, 'method not allowed', path));
      }
      const answer = await route();
      this.send(req, res, answer.status, answer.body, answer.contentType);
    } catch (error) {
      this.logger.error('health listener failed to answer', { path, error: String(error) });
      if (!res.headersSent) this.send(req, res, 500, errorBody(500, 'internal error', path));
    }
  }

  private json(answer: { httpStatus: number; body: unknown }): {
    status: number;
    body: unknown;
  } {
    return { status: answer.httpStatus, body: answer.body };
  }

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: unknown,
    contentType = 'application/json; charset=utf-8',
  ): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  }
}

function errorBody(status: number, error: string, path: string): Record<string, unknown> {
  return { error, status_code: status, path: path.slice(0, 512) };
}
