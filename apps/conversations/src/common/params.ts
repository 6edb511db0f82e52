import { ParseUUIDPipe, PipeTransform } from '@nestjs/common';
import { AppError } from '@mailbridge/platform-runtime';

/** Ids in paths are checked before any query: a UUID where the platform made the id... */
export const uuidParam = (name: string) =>
  new ParseUUIDPipe({
    exceptionFactory: () => new AppError('validation', 'invalid_request', `${name} must be a UUID`),
  });

const CRM_ID = /^[^\s/]{1,128}$/;

/** ...and the CRM's own ids (contacts) in the shape the events carry them. */
export const crmIdParam = (name: string): PipeTransform<string, string> => ({
  transform(value: string): string {
    if (!CRM_ID.test(value)) {
      throw new AppError(
        'validation',
        'invalid_request',
        `${name} must be 1-128 characters without spaces or "/"`,
      );
    }
    return value;
  },
});
