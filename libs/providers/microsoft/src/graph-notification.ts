import { createHash, timingSafeEqual } from 'node:crypto';

/** One item of a Graph change or lifecycle notification POST (`{ value: [...] }`). */
export interface GraphNotificationItem {
  readonly subscriptionId: string;
  readonly clientState?: string;
  readonly changeType?: string;
  readonly resource?: string;
  readonly lifecycleEvent?: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';
}

const LIFECYCLE = new Set(['reauthorizationRequired', 'subscriptionRemoved', 'missed']);

/** The items of a notification body; malformed items are left out. */
export function parseGraphNotifications(body: unknown): GraphNotificationItem[] {
  const value = (body as { value?: unknown } | undefined)?.value;
  if (!Array.isArray(value)) return [];
  const out: GraphNotificationItem[] = [];
  for (const raw of value as Array<Record<string, unknown>>) {
    if (!raw || typeof raw.subscriptionId !== 'string') continue;
    const lifecycle = typeof raw.lifecycleEvent === 'string' && LIFECYCLE.has(raw.lifecycleEvent);
    out.push({
      subscriptionId: raw.subscriptionId,
      ...(typeof raw.clientState === 'string' ? { clientState: raw.clientState } : {}),
      ...(typeof raw.changeType === 'string' ? { changeType: raw.changeType } : {}),
      ...(typeof raw.resource === 'string' ? { resource: raw.resource } : {}),
      ...(lifecycle ? { lifecycleEvent: raw.lifecycleEvent as GraphNotificationItem['lifecycleEvent'] } : {}),
    });
  }
  return out;
}

/** What we keep of a clientState: its SHA-256, so the secret itself is never stored. */
export function clientStateDigest(clientState: string): string {
  return createHash('sha256').update(clientState, 'utf8').digest('hex');
}

/** Constant-time check of a presented clientState against the stored digest. */
export function clientStateMatches(presented: string | undefined, storedDigest: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = Buffer.from(storedDigest, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
