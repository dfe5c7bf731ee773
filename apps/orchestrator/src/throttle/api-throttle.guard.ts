import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import Redis from 'ioredis';
import type { Logger } from 'winston';
import {
  AuditTrail,
  AuditType,
  DomainError,
  ErrorCode,
  LOGGER,
  redisConnectionOptions,
} from '@app/platform';
import { SKIP_API_THROTTLE } from '../auth/auth.decorators';
import { routeOf } from '../common/request-facts';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import { clientKey } from './client-key';
import { RedisTokenBucket } from './redis-token-bucket';

/**
 * The API limit per client address (spec: 100/min, burst 50), shared across replicas through
 * Redis. The client address is `req.ip`, which honours TRUST_PROXY: with it unset, a forged
 * X-Forwarded-For is ignored. If Redis does not answer quickly the request is let through:
 * losing the limiter must not take the operator API down.
 */
@Injectable()
export class ApiThrottleGuard implements CanActivate, OnModuleInit, OnModuleDestroy {
  private readonly redis: Redis;
  private readonly bucket: RedisTokenBucket;

  constructor(
    private readonly reflector: Reflector,
    @Inject(ORCHESTRATOR_CONFIG) config: OrchestratorConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly audit: AuditTrail,
  ) {
    this.redis = new Redis({
      // rediss:// → TLS with the certificate and host name verified (REDIS_TLS_CA_FILE).
      ...redisConnectionOptions(config.queueRedisUrl, config.redisTlsCaFile),
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
    });
    this.redis.on('error', () => undefined);
    this.bucket = new RedisTokenBucket(
      this.redis,
      config.queuePrefix,
      config.apiRateLimitBurst,
      config.apiRateLimitPerMinute,
    );
  }

  /**
   * Waits (bounded) for the limiter's connection before the port opens, so the first requests
   * after a start are limited like the rest instead of being let through while Redis connects.
   */
  async onModuleInit(): Promise<void> {
    if (this.redis.status === 'ready') return;
    const ready = new Promise<void>((resolve) => this.redis.once('ready', () => resolve()));
    try {
      await withTimeout(ready, 3000);
    } catch {
      this.logger.warn(
        'API rate limiter: Redis not ready at start; requests are allowed until it is',
      );
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (
      this.reflector.getAllAndOverride<boolean>(SKIP_API_THROTTLE, [
        context.getHandler(),
        context.getClass(),
      ])
    ) {
      return true;
    }
    const req = context.switchToHttp().getRequest<Request>();
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    let verdict: { allowed: boolean; retryAfterMs: number };
    try {
      // IPv6 by /64 (see clientKey); the audit record keeps the full address.
      verdict = await withTimeout(this.bucket.take(clientKey(client)), 250);
    } catch (error) {
      this.logger.warn('API rate limiter unavailable; request allowed', { error: String(error) });
      return true;
    }
    if (verdict.allowed) return true;
    this.audit.record({
      type: AuditType.ApiThrottled,
      outcome: 'throttled',
      clientAddress: client,
      target: routeOf(req),
      correlationId: req.correlationId ?? null,
    });
    throw new DomainError(
      ErrorCode.RateLimited,
      'too many requests',
      [],
      Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)),
    );
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('rate limiter timed out')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
