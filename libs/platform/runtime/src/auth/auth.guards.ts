import { timingSafeEqual, createHash } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import type { Request } from 'express';
import { AppError } from '../http/app-error';
import { CrmPrincipal, JwtVerifier } from './jwt-verifier';
import { INTERNAL_API_TOKEN, JWT_VERIFIER } from '../tokens';

type AuthedRequest = Request & { principal?: CrmPrincipal };

function bearer(req: Request): string {
  const header = req.headers.authorization;
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  if (!match)
    throw new AppError('unauthenticated', 'missing_token', 'Authorization: Bearer <token> is required');
  return match[1];
}

/**
 * CRM routes: a valid token, and the `{locationId}` (and `{userId}`, when the route has one) in the path must be the
 * token's own. No route serves another location's data.
 */
@Injectable()
export class CrmAuthGuard implements CanActivate {
  constructor(@Inject(JWT_VERIFIER) private readonly verifier: JwtVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const principal = await this.verifier.verify(bearer(req));
    const { locationId, userId } = req.params ?? {};
    if (locationId !== undefined && locationId !== principal.locationId) {
      throw new AppError('forbidden', 'location_forbidden', 'The token is not valid for this location');
    }
    if (userId !== undefined && userId !== principal.userId) {
      throw new AppError('forbidden', 'user_forbidden', "The token's user may not act for another user");
    }
    req.principal = principal;
    return true;
  }
}

/** `/internal/...` routes: the service-to-service credential, compared in constant time. */
@Injectable()
export class InternalAuthGuard implements CanActivate {
  constructor(@Inject(INTERNAL_API_TOKEN) private readonly token: string) {}

  canActivate(context: ExecutionContext): boolean {
    const presented = bearer(context.switchToHttp().getRequest<Request>());
    const digest = (s: string) => createHash('sha256').update(s).digest();
    if (!timingSafeEqual(digest(presented), digest(this.token))) {
      throw new AppError('unauthenticated', 'invalid_service_credential', 'Service credential rejected');
    }
    return true;
  }
}

/** The principal of a request that passed CrmAuthGuard. */
export const Principal = createParamDecorator((_: unknown, ctx: ExecutionContext): CrmPrincipal => {
  const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) throw new Error('Principal used on a route without CrmAuthGuard');
  return principal;
});
