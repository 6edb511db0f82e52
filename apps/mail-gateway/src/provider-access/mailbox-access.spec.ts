import type { DataSource } from 'typeorm';
import type { AccessTokenClient } from './access-token.client';
import { LENDER_RECHECK_MS, MailboxAccess } from './mailbox-access';
import { AccessTokenUnavailableError } from './provider-failure';

const MAILBOX = { id: 'mbx_1', mailboxKey: 'google:a@b.test', provider: 'google' as const };

/** A mailbox whose active connections are `active` (read per query), and tokens that `refuse` can end. */
function setUp(active: string[]) {
  const reads: string[] = [];
  const refused = new Set<string>();
  const dataSource = {
    query: jest.fn(async (sql: string) => {
      reads.push(sql);
      return active.map((connection_id) => ({ connection_id }));
    }),
  } as unknown as DataSource;
  const tokens = {
    tokenFor: jest.fn(async (connectionId: string, force: boolean) => {
      if (refused.has(connectionId)) throw new AccessTokenUnavailableError('auth_revoked', 'ended', true);
      return `${connectionId}:${force ? 'fresh' : 'cached'}`;
    }),
    cached: jest.fn(() => undefined),
  } as unknown as AccessTokenClient;
  return { access: new MailboxAccess(dataSource, tokens), reads, refused };
}

describe('MailboxAccess.forMailbox', () => {
  afterEach(() => jest.useRealTimers());

  it("reads the mailbox's connections once per operation, not once per provider call", async () => {
    const { access, reads } = setUp(['con_1']);
    const target = access.forMailbox(MAILBOX);
    expect(await target.token(false)).toBe('con_1:cached');
    expect(await target.token(false)).toBe('con_1:cached');
    expect(await target.token(true)).toBe('con_1:fresh');
    expect(await target.token(false)).toBe('con_1:cached');
    expect(reads).toHaveLength(1);
    // Another operation reads them again.
    await access.forMailbox(MAILBOX).token(false);
    expect(reads).toHaveLength(2);
  });

  it('reads them again when the lending connection is refused, and another connection lends (SYN-4)', async () => {
    const { access, reads, refused } = setUp(['con_1', 'con_2']);
    const target = access.forMailbox(MAILBOX);
    expect(await target.token(false)).toBe('con_1:cached');
    refused.add('con_1');
    expect(await target.token(false)).toBe('con_2:cached');
    expect(reads).toHaveLength(2);
  });

  it('fails once no connection lends any more', async () => {
    const { access, refused } = setUp(['con_1']);
    const target = access.forMailbox(MAILBOX);
    await target.token(false);
    refused.add('con_1');
    await expect(target.token(false)).rejects.toMatchObject({ code: 'auth_revoked' });
  });

  it('reads them again in a long operation', async () => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const { access, reads } = setUp(['con_1']);
    const target = access.forMailbox(MAILBOX);
    await target.token(false);
    jest.setSystemTime(Date.now() + LENDER_RECHECK_MS - 1);
    await target.token(false);
    expect(reads).toHaveLength(1);
    jest.setSystemTime(Date.now() + 1);
    await target.token(false);
    expect(reads).toHaveLength(2);
  });
});
