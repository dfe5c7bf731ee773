import type { CorsOptions } from '@nestjs/common/interfaces/external/cors-options.interface';

/**
 * CORS for the configured browser origins only: bearer tokens in the Authorization header, no
 * cookies (`credentials: false`), the correlation and rate-limit headers readable by the page.
 */
export function corsOptions(origins: string[]): CorsOptions {
  const allowed = new Set(origins);
  return {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-ID', 'X-Correlation-ID'],
    exposedHeaders: ['X-Correlation-ID', 'X-Request-ID', 'Retry-After'],
    credentials: false,
    maxAge: 600,
  };
}
