import type { DataSource } from 'typeorm';
import type { AccessTokenClient } from './access-token.client';
import { MailboxAccess } from './mailbox-access';
import { AccessTokenUnavailableError } from './provider-failure';

/** A mailbox's active connections (newest first) and identity-connections' answers, both changeable mid-test. */
function fixture(active: string[]) {
  const state = { active, revoked: new Set<string>(), reads: 0, issued: new Map<string, number>() };
  const dataSource = {
    query: async () => {
      state.reads++;
      return state.active.map((connection_id) => ({ connection_id }));
    },
  } as unknown as DataSource;
  const held = new Map<string, string>();
  const tokens = {
    tokenFor: async (id: string, forceRefresh = false) => {
      if (state.revoked.has(id)) {
        held.delete(id);
        throw new AccessTokenUnavailableError('auth_revoked', `connection ${id} has ended`, true);
      }
      const cached = held.get(id);
      if (cached && !forceRefresh) return cached;
      const n = (state.issued.get(id) ?? 0) + 1;
      state.issued.set(id, n);
      held.set(id, `${id}-token-${n}`);
      return `${id}-token-${n}`;
    },
    cached: (id: string) => held.get(id),
  } as unknown as AccessTokenClient;
  const access = new MailboxAccess(dataSource, tokens);
  const target = access.forMailbox({
    id: 'mbx-1',
    mailboxKey: 'google:sam@acme.example',
    provider: 'google',
  });
  return { state, target };
}

describe('MailboxAccess', () => {
  afterEach(() => jest.useRealTimers());

  it('issue 16: the calls of one pull read the mailbox connections once while the chosen one holds its token', async () => {
    const { state, target } = fixture(['conn-a', 'conn-b']);
    for (let call = 0; call < 5; call++) expect(await target.token(false)).toBe('conn-a-token-1');
    expect(state.reads).toBe(1);
  });

  it('reads the connections again once the chosen one has lent for a while (a connection change is seen)', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-07T10:00:00Z') });
    const { state, target } = fixture(['conn-a', 'conn-b']);
    expect(await target.token(false)).toBe('conn-a-token-1');
    state.active = ['conn-b'];
    jest.setSystemTime(new Date('2026-12-07T10:00:10Z'));
    expect(await target.token(false)).toBe('conn-a-token-1');
    jest.setSystemTime(new Date('2026-12-07T10:00:31Z'));
    expect(await target.token(false)).toBe('conn-b-token-1');
    expect(state.reads).toBe(2);
  });

  it('SYN-4: a refused token whose grant has ended is lent by another active connection, not a failed pull', async () => {
    const { state, target } = fixture(['conn-a', 'conn-b']);
    expect(await target.token(false)).toBe('conn-a-token-1');
    // conn-a is disconnected (its grant revoked) while the pull runs; the provider refuses its token.
    state.revoked.add('conn-a');
    state.active = ['conn-b'];
    expect(await target.token(true)).toBe('conn-b-token-1');
    expect(await target.token(false)).toBe('conn-b-token-1');
  });

  it('a refused token is refreshed for the connection that lent it while its grant lives', async () => {
    const { state, target } = fixture(['conn-a', 'conn-b']);
    expect(await target.token(false)).toBe('conn-a-token-1');
    expect(await target.token(true)).toBe('conn-a-token-2');
    expect(state.reads).toBe(1);
  });

  it('with no connection left to lend, the call fails as auth_revoked', async () => {
    const { state, target } = fixture(['conn-a']);
    expect(await target.token(false)).toBe('conn-a-token-1');
    state.revoked.add('conn-a');
    state.active = [];
    await expect(target.token(true)).rejects.toMatchObject({ code: 'auth_revoked' });
  });
});
