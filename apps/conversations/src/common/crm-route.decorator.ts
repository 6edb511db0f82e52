import { UseGuards, applyDecorators } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiPayloadTooLargeResponse,
  ApiResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CrmAuthGuard } from '@mailbridge/platform-runtime';
import { ErrorDto } from './error.dto';
import { RateLimitGuard } from './rate-limit.guard';

/**
 * A controller of CRM routes: bearer token of the path's location (CrmAuthGuard), then the per-token rate limit, and
 * the error responses every such route can give, in the OpenAPI document.
 */
export const CrmController = () =>
  applyDecorators(
    ApiBearerAuth('crm'),
    UseGuards(CrmAuthGuard, RateLimitGuard),
    ApiUnauthorizedResponse({ type: ErrorDto, description: '`missing_token`, `invalid_token`' }),
    ApiForbiddenResponse({
      type: ErrorDto,
      description: '`location_forbidden`: the token is for another location',
    }),
    ApiTooManyRequestsResponse({
      type: ErrorDto,
      description: '`rate_limited`: RATE_LIMIT_PER_MINUTE exceeded for this token; see `Retry-After`',
    }),
  );

type ErrorStatus = 400 | 404 | 409 | 413 | 422 | 503;

/** Route-specific error responses with the codes they carry, so `/docs-json` lists every refusal. */
export const ApiErrors = (errors: Partial<Record<ErrorStatus, string>>) => {
  const decorators = Object.entries(errors).map(([status, description]) => {
    const options = { type: ErrorDto, description };
    switch (Number(status) as ErrorStatus) {
      case 400:
        return ApiBadRequestResponse(options);
      case 404:
        return ApiNotFoundResponse(options);
      case 409:
        return ApiConflictResponse(options);
      case 413:
        return ApiPayloadTooLargeResponse(options);
      case 422:
        return ApiUnprocessableEntityResponse(options);
      default:
        return ApiResponse({ status: Number(status), ...options });
    }
  });
  return applyDecorators(...decorators);
};
