import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { trace } from '@opentelemetry/api';
import proxyAddr from 'proxy-addr';
import type { Logger } from 'winston';
import { closeConnectionsWhileDraining, runWithLogContext } from '@app/platform';
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
 * format through the filter's own mapping. The Nest route stays for the API description and for
 * requests this lane does not take (other methods, trailing slash).
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
  server.removeListener('request', express);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST' && pathOf(req.url) === WEBHOOK_PATH) lane(req, res);
    else express(req, res);
  });
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
