import { z } from 'zod';

/** Opaque ids from the CRM (location, user, contact): non-empty, no whitespace, bounded. */
export const crmId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\s/]+$/, 'must not contain whitespace or "/"');

export const isoDateTime = z.iso.datetime({ offset: true });

/** An email address as exchanged between services (already validated at the edge). */
export const emailAddress = z.string().min(3).max(320).regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');
