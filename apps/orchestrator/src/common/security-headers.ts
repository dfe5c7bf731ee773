import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** The Swagger UI page and its assets (not /docs-json, which is JSON like the API). */
export function isDocsPage(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/');
}

/**
 * helmet's headers on every response (HSTS, nosniff, frame and referrer policies, COOP/CORP,
 * no X-Powered-By). Two Content-Security-Policies:
 * - the API answers JSON only, so nothing may load or frame it: `default-src 'none'`;
 * - the Swagger page loads its own scripts and styles from /docs (no inline script: the page's
 *   init code is the separate /docs/swagger-ui-init.js), needs inline styles (its template has
 *   <style> blocks), data: images (icons in its CSS) and same-origin fetches for "Try it out".
 *   No upgrade-insecure-requests there: it would break the page on a plain-HTTP local server.
 */
export function securityHeaders(): RequestHandler {
  const common = {
    frameguard: { action: 'deny' as const },
    referrerPolicy: { policy: 'no-referrer' as const },
  };
  const api = helmet({
    ...common,
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
  return (req: Request, res: Response, next: NextFunction) =>
    isDocsPage(req.path) ? docs(req, res, next) : api(req, res, next);
}
