import { SetMetadata } from '@nestjs/common';
import { Role } from './role';

export const PUBLIC_ROUTE = 'auth:public';
export const REQUIRED_ROLE = 'auth:role';
export const SKIP_API_THROTTLE = 'throttle:skip';

/** Reachable without a token: the webhook (it has its own signature), health, metrics, `/`. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/** The weakest role allowed; routes without it need `viewer`. */
export const RequireRole = (role: Role): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_ROLE, role);

/** Not counted by the API limit: health probes, metrics scrapes, the webhook (own limiter). */
export const SkipApiThrottle = (): MethodDecorator & ClassDecorator =>
  SetMetadata(SKIP_API_THROTTLE, true);
