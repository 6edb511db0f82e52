import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError, type CrmPrincipal } from '@mailbridge/platform-runtime';
import { RateLimiter } from './rate-limiter';

/**
 * 429 `rate_limited` with `Retry-After` once a token (its subject in its location) exceeds RATE_LIMIT_PER_MINUTE.
 * Runs after CrmAuthGuard, which put the verified principal on the request. Nest makes a guard instance per module
 * that uses it; they share the one limiter of the service, so a token's budget spans every route.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(@Inject(RateLimiter) private readonly limiter: RateLimiter) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const principal = http.getRequest<Request & { principal?: CrmPrincipal }>().principal;
    if (!principal) return true;
    const verdict = this.limiter.take(`${principal.locationId}\u0000${principal.userId}`);
    if (verdict.allowed) return true;
    http.getResponse<Response>().setHeader('Retry-After', String(verdict.retryAfterSeconds));
    throw new AppError('rate_limited', 'rate_limited', 'Too many requests for this token; retry later', {
      retryAfterSeconds: verdict.retryAfterSeconds,
    });
  }
}
