import { z } from 'zod';
import { AppError } from '@mailbridge/platform-runtime';

/** Opaque keyset cursors: base64url of the last row's sort values. Clients must not build them. */
export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // Falls through to the same error as a cursor of the wrong shape.
  }
  throw new AppError('validation', 'invalid_cursor', 'cursor is not one this API returned');
}

export const timestampCursor = z.tuple([z.iso.datetime({ offset: true }), z.string().regex(/^\d{1,19}$/)]);

/** A conversation's messages (SYN-6): date second, provider receivedAt, seq. */
export const messageCursor = z.tuple([
  z.iso.datetime({ offset: true }),
  z.iso.datetime({ offset: true }),
  z.string().regex(/^\d{1,19}$/),
]);

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;
