import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** The Swagger UI page and its assets (not /docs-json, which is JSON like the API). */
export function isDocsPage(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/');
}

/** The operator console's page shell and its files. */
export function isConsolePage(path: string): boolean {
  return path === '/console' || path.startsWith('/console/');
}

/**
 * helmet's headers on every response (HSTS, nosniff, frame and referrer policies, COOP/CORP,
 * no X-Powered-By). Two Content-Security-Policies:
 * - the API answers JSON only, so nothing may load or frame it: `default-src 'none'`;
 * - the Swagger page loads its own scripts and styles from /docs (no inline script: the page's
 *   init code is the separate /docs/swagger-ui-init.js), needs inline styles (its template has
 *   <style> blocks), data: images (icons in its CSS) and same-origin fetches for "Try it out".
 *   No upgrade-insecure-requests there: it would break the page on a plain-HTTP local server.
 * - the operator console is stricter than Swagger: scripts and styles from its own files only
 *   (no inline code or style attributes), fetches to this origin only, and Trusted Types
 *   required with no policy, so no string can ever reach innerHTML and friends: payload text
 *   can only be shown as text.
 */
const common = {
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
};

/**
 * JSON answers get the headers that matter for a non-document response (OWASP's REST list):
 * CSP with frame-ancestors, HSTS, nosniff, frame and referrer policies, COOP/CORP. helmet's
 * document- and legacy-browser headers (X-DNS-Prefetch-Control, X-Download-Options for IE8,
 * X-Permitted-Cross-Domain-Policies for Flash/PDF, Origin-Agent-Cluster, X-XSS-Protection: 0)
 * stay on the Swagger page only; on every JSON answer, webhook ACKs included, they were bytes
 * for the client to parse and nothing else.
 */
function apiHelmet(): RequestHandler {
  return helmet({
    ...common,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    originAgentCluster: false,
    xXssProtection: false,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
    },
  });
}

/**
 * The API branch's headers as a plain object, taken once from helmet itself: the webhook lane,
 * served ahead of Express, sends exactly these without running helmet per delivery. They do not
 * depend on the request (no nonces), which the unit test checks against helmet's own output.
 */
export function apiSecurityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]): void {
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string): void {
      delete headers[name];
    },
  };
  let done = false;
  apiHelmet()({ method: 'POST', headers: {} } as Request, recorder as unknown as Response, () => {
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously');
  return headers;
}

export function securityHeaders(): RequestHandler {
  const api = apiHelmet();
  const docs = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
  const operatorConsole = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
        requireTrustedTypesFor: ["'script'"],
        trustedTypes: ["'none'"],
      },
    },
  });
  return (req: Request, res: Response, next: NextFunction) =>
    isDocsPage(req.path)
      ? docs(req, res, next)
      : isConsolePage(req.path)
        ? operatorConsole(req, res, next)
        : api(req, res, next);
}
