import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError, type CrmPrincipal } from '@mailbridge/platform-runtime';
import { RateLimitRepository } from './rate-limit.repository';

/**
 * 429 `rate_limited` with `Retry-After` once a token (its subject in its location) exceeds RATE_LIMIT_PER_MINUTE.
 * Runs after CrmAuthGuard, which put the verified principal on the request. The budget is in PostgreSQL: it spans
 * every route and every replica.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(@Inject(RateLimitRepository) private readonly limiter: RateLimitRepository) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const principal = http.getRequest<Request & { principal?: CrmPrincipal }>().principal;
    if (!principal) return true;
    const verdict = await this.limiter.take(JSON.stringify([principal.locationId, principal.userId]));
    if (verdict.allowed) return true;
    http.getResponse<Response>().setHeader('Retry-After', String(verdict.retryAfterSeconds));
    throw new AppError('rate_limited', 'rate_limited', 'Too many requests for this token; retry later', {
      retryAfterSeconds: verdict.retryAfterSeconds,
    });
  }
}
