import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import type { Logger } from '@mailbridge/platform-observability';
import { isAppErrorLike, STATUS_BY_KIND } from './app-error';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  503: 'unavailable',
};

/** Every error leaves as `{ error: { code, message, details? } }` with the right status; never a stack trace. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.translate(exception);
    if (status >= 500) this.logger.error({ err: exception }, 'request failed');
    if (res.headersSent) return;
    res.status(status).json(body);
  }

  translate(exception: unknown): { status: number; body: ErrorBody } {
    if (isAppErrorLike(exception)) {
      return {
        status: STATUS_BY_KIND[exception.kind],
        body: {
          error: { code: exception.code, message: exception.message, ...withDetails(exception.details) },
        },
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const r =
        typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
      if (r.error && typeof r.error === 'object' && 'code' in (r.error as object)) {
        return { status, body: response as ErrorBody };
      }
      const message = Array.isArray(r.message)
        ? 'Request is invalid'
        : typeof r.message === 'string'
          ? r.message
          : exception.message;
      const details = Array.isArray(r.message) ? { problems: r.message } : undefined;
      return {
        status,
        body: {
          error: {
            code: (r.code as string) ?? CODE_BY_STATUS[status] ?? 'error',
            message,
            ...withDetails(details),
          },
        },
      };
    }
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: {
        error: { code: 'internal_error', message: 'Something went wrong on our side; it has been logged' },
      },
    };
  }
}

function withDetails(details: unknown): { details?: unknown } {
  return details === undefined ? {} : { details };
}
