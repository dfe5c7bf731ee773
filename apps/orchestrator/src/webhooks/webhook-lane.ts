import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { trace } from '@opentelemetry/api';
import proxyAddr from 'proxy-addr';
import type { Logger } from 'winston';
import {
  closeConnectionsWhileDraining,
  DomainError,
  ErrorCode,
  runWithLogContext,
} from '@app/platform';
import { answerError } from '../common/all-exceptions.filter';
import { assignCorrelationId } from '../common/correlation-id';
import { apiSecurityHeaders } from '../common/security-headers';
import { sendJson } from '../common/send-json';
import { WebhookIntakeService } from './webhook-intake.service';

/** The route GitHub posts to. */
export const WEBHOOK_PATH = '/api/v1/webhooks/github';

/** Express's compiled TRUST_PROXY setting (`app.get('trust proxy fn')`). */
export type TrustFunction = (address: string, hop: number) => boolean;

export interface WebhookLaneOptions {
  intake: WebhookIntakeService;
  logger: Logger;
  trust: TrustFunction;
}

/**
 * Serves `POST /api/v1/webhooks/github` straight from Node's HTTP server, ahead of Express, and
 * hands every other request to Express unchanged.
 *
 * The delivery path is the product's hot path, and Express's per-request work (router, the
 * prototype swaps on req/res, helmet, the middleware chain) cost about as much node CPU as the
 * intake itself (docs/performance.md). What those layers do for this route is done here,
 * once each: the same security headers (computed from helmet at start), the correlation id and
 * its log context, `Connection: close` while draining, TRUST_PROXY for the client address (with
 * Express's own compiled setting and the same proxy-addr rules), and errors in the documented
 * format through the filter's own mapping. The Nest route stays for the API description only:
 * every method on the webhook URL (and its trailing-slash form) and every case variant of it is
 * answered here (POST served, other methods 405, variants 404), so Express's JSON parser never
 * reads a delivery's body.
 */
export function serveWebhookLane(
  server: Server,
  express: RequestListener,
  options: WebhookLaneOptions,
): void {
  const lane = webhookLane(options);
  const listeners = server.listeners('request');
  if (!listeners.includes(express)) {
    throw new Error('the HTTP server does not dispatch to the Express app it was given');
  }
  const refuse = refusal(options.logger);
  server.removeListener('request', express);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = pathOf(req.url);
    const kind = webhookPathKind(path);
    if (kind === 'other') express(req, res);
    else if (kind === 'variant')
      // A failed delivery like any other: counted by the failure limiter (429 over its budget).
      refuse(
        req,
        res,
        options.intake.countFailure(
          req,
          () => clientAddressFor(req, options.trust),
          new DomainError(ErrorCode.NotFound, `no route for ${req.method} ${path}`),
        ),
      );
    else if (req.method === 'POST') lane(req, res);
    else
      refuse(
        req,
        res,
        new DomainError(ErrorCode.MethodNotAllowed, 'only POST is allowed on the webhook URL'),
        { Allow: 'POST' },
      );
  });
}

/**
 * How a path relates to the webhook URL. `canonical`: the URL itself, or with a trailing slash
 * (GitHub posts to the URL exactly as configured and never retries, so both are served alike).
 * `variant`: what Express's case-insensitive, slash-tolerant router would also take for it (case
 * variants, with or without the slash); it gets a prompt 404, never the JSON parser and a route
 * left waiting for a body already read. `other`: not ours.
 */
export function webhookPathKind(path: string): 'canonical' | 'variant' | 'other' {
  if (path === WEBHOOK_PATH || path === `${WEBHOOK_PATH}/`) return 'canonical';
  const lower = path.toLowerCase();
  return lower === WEBHOOK_PATH || lower === `${WEBHOOK_PATH}/` ? 'variant' : 'other';
}

/** An error answer from the lane, with its headers, ids and log context; the body is not read. */
function refusal(
  logger: Logger,
): (
  req: IncomingMessage,
  res: ServerResponse,
  error: DomainError,
  headers?: Record<string, string>,
) => void {
  const security = apiSecurityHeaders();
  return (req, res, error, headers = {}) => {
    closeConnectionsWhileDraining(req, res, noop);
    const id = assignCorrelationId(req);
    for (const name in security) res.setHeader(name, security[name]);
    for (const name in headers) res.setHeader(name, headers[name]);
    res.setHeader('X-Correlation-ID', id);
    res.setHeader('X-Request-ID', id);
    // The body, if any, is discarded as it arrives (never buffered), so keep-alive still works.
    req.resume();
    answerError(req, res, error, logger);
  };
}

/** The lane's handler for one delivery (exported for the unit tests). */
export function webhookLane(
  options: WebhookLaneOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { intake, logger, trust } = options;
  const security = apiSecurityHeaders();
  return (req, res) => {
    closeConnectionsWhileDraining(req, res, noop);
    const id = assignCorrelationId(req);
    for (const name in security) res.setHeader(name, security[name]);
    res.setHeader('X-Correlation-ID', id);
    res.setHeader('X-Request-ID', id);
    // With tracing on, the HTTP server span is named after the route, as Express's would be.
    const span = trace.getActiveSpan();
    if (span) {
      span.updateName(`POST ${WEBHOOK_PATH}`);
      span.setAttribute('http.route', WEBHOOK_PATH);
    }
    const clientAddress = (): string => clientAddressFor(req, trust);
    runWithLogContext({ correlation_id: id }, () =>
      intake.receive(req, clientAddress).then(
        (answer) => sendJson(res, 200, answer),
        (error: unknown) => answerError(req, res, error, logger),
      ),
    ).catch((error: unknown) => {
      // Writing the answer itself failed (the client went away): nothing left to tell it.
      logger.warn('webhook answer could not be written', { error: String(error) });
    });
  };
}

/**
 * The client address as Express's `req.ip` computes it: with TRUST_PROXY unset only the socket
 * address counts, so a forged X-Forwarded-For cannot dodge the failure limiter.
 */
export function clientAddressFor(req: IncomingMessage, trust: TrustFunction): string {
  if (!req.socket.remoteAddress) return 'unknown';
  return proxyAddr(req, trust);
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function noop(): void {
  return undefined;
}
