import type { IncomingMessage, Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { json, type NextFunction, type Request, type Response } from 'express';
import { closeConnectionsWhileDraining, createJsonLogger, NestJsonLogger } from '@app/platform';
import { accessLog } from './common/access-log';
import { answerClientError } from './common/client-errors';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { correlationIdMiddleware } from './common/correlation-id';
import { MAX_JSON_DEPTH, nestsTooDeep } from './common/json-depth';
import { corsOptions } from './common/cors';
import { securityHeaders } from './common/security-headers';
import { sendError } from './common/error-body';
import { OrchestratorConfig } from './config/orchestrator.config';
import { OrchestratorModule } from './orchestrator.module';
import { setupSwagger } from './docs/swagger';
import {
  serveWebhookLane,
  TrustFunction,
  WEBHOOK_PATH,
  webhookPathKind,
} from './webhooks/webhook-lane';
import { WebhookIntakeService } from './webhooks/webhook-intake.service';

/** Builds the HTTP app (without listening), so tests boot exactly what production runs. */
export async function createOrchestratorApp(
  config: OrchestratorConfig,
): Promise<NestExpressApplication> {
  const logger = createJsonLogger('orchestrator', config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(
    OrchestratorModule.forRoot(config, logger),
    {
      // The webhook route reads its raw body itself; other routes get a small JSON parser.
      bodyParser: false,
      logger: new NestJsonLogger(logger),
      abortOnError: false,
    },
  );
  app.disable('x-powered-by');
  // First, so every answer carries them: errors, 404s, 413s and the webhook's too.
  app.use(securityHeaders());
  // Off unless CORS_ORIGINS names the browser origins allowed to call the API.
  if (config.corsOrigins.length > 0) app.enableCors(corsOptions(config.corsOrigins));
  // During a graceful shutdown, keep-alive clients reconnect elsewhere (see closeOnSignals).
  app.use(closeConnectionsWhileDraining);
  // Decides req.ip: with TRUST_PROXY unset, X-Forwarded-For is ignored and cannot dodge limits.
  app.set('trust proxy', config.trustProxy);
  app.use(correlationIdMiddleware);
  // API_BODY_LIMIT_BYTES (small; operator requests have tiny bodies), apart from the webhook's.
  const jsonParser = json({
    limit: config.apiBodyLimitBytes,
    // Refused before parsing: class-transformer would recurse through it and overflow (a 500).
    verify: (_req, _res, buf) => {
      if (nestsTooDeep(buf.toString('utf8'))) {
        throw Object.assign(new Error(`body nests deeper than ${MAX_JSON_DEPTH} levels`), {
          status: 400,
        });
      }
    },
  });
  // The webhook lane answers every form of the webhook URL before Express; never parse them here.
  app.use((req: Request, res: Response, next: NextFunction) =>
    webhookPathKind(req.path) === 'other' ? jsonParser(req, res, next) : next(),
  );
  // Body parser errors (malformed JSON on API routes) in the documented format.
  app.use(
    (
      error: { status?: number; message?: string },
      req: Request,
      res: Response,
      next: NextFunction,
    ) => {
      if (!error) return next();
      const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 400;
      sendError(
        req,
        res,
        status,
        status === 413 ? 'request body too large' : 'malformed request body',
      );
    },
  );
  app.useGlobalFilters(new AllExceptionsFilter(logger));
  setupSwagger(app);
  app.useLogger(new NestJsonLogger(logger));
  // Deliveries are served ahead of Express with the same headers, ids and error answers.
  const express = app.getHttpAdapter().getInstance();
  serveWebhookLane(app.getHttpServer(), express, {
    intake: app.get(WebhookIntakeService),
    logger,
    trust: express.get('trust proxy fn') as TrustFunction,
  });
  boundRequestTimes(app.getHttpServer(), config);
  if (config.accessLog) {
    // First of the server's listeners, so the lane's deliveries and Express's routes both count.
    app.getHttpServer().prependListener('request', accessLog(logger, routeOf));
  }
  return app;
}

/**
 * HEADERS_TIMEOUT_SECONDS and REQUEST_TIMEOUT_SECONDS instead of Node's 60 s and 300 s: a client
 * that stalls mid-upload (holding up to WEBHOOK_MAX_PAYLOAD_SIZE of unverified bytes) is cut off
 * in seconds with a 408 in the error format and its bytes are given back. Node checks them every
 * `connectionsCheckingInterval` (30 s by default, read when the server starts listening), so that
 * is one second here: a stalled request is closed at most a second after its deadline.
 */
function boundRequestTimes(server: Server, config: OrchestratorConfig): void {
  server.headersTimeout = config.headersTimeoutSeconds * 1000;
  server.requestTimeout = config.requestTimeoutSeconds * 1000;
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = 1000;
  // Node's own answers to a timeout or a malformed request are a bare status line; ours carry
  // the error body like every other refusal.
  server.on('clientError', answerClientError);
}

/** The matched route's pattern: the webhook URL for the lane, Express's route for the rest. */
function routeOf(req: IncomingMessage): string | null {
  const query = req.url?.indexOf('?') ?? -1;
  const path = query === -1 ? (req.url ?? '') : (req.url ?? '').slice(0, query);
  if (webhookPathKind(path) === 'canonical') return WEBHOOK_PATH;
  const route = (req as Partial<Request>).route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? route.path : null;
}
