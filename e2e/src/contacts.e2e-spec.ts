import { expectEventually } from '@mailbridge/testing';
import { Platform, api, startPlatform } from './harness/platform.harness';

jest.setTimeout(240_000);

/** The foundation's capability across four real processes over Kafka: the contact projection. */
describe('contacts across processes (Kafka mock cluster, PostgreSQL, separate services)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  const projection = async (locationId: string) =>
    (
      await api<{ items: Array<{ contactId: string; email: string; revision: number }> }>(
        `${platform.urls['sync-engine']}/internal/contacts?locationId=${locationId}`,
        { token: platform.internalApiToken },
      )
    ).body.items;

  it('ADR-5: a contact PUT on conversations reaches the sync-engine projection through Kafka', async () => {
    const token = platform.token('loc_e2e', 'usr_1');
    const put = await api(`${platform.urls.conversations}/v1/locations/loc_e2e/contacts/ct_1`, {
      method: 'PUT',
      token,
      body: { email: 'Pat@Example.com', assignedUserId: 'usr_1' },
    });
    expect(put.status).toBe(201);
    await expectEventually(async () =>
      expect(await projection('loc_e2e')).toEqual([
        expect.objectContaining({ contactId: 'ct_1', email: 'pat@example.com' }),
      ]),
    );
  });

  it('sync-engine killed with -9 during a stream of contact changes: after restart every change is applied exactly once', async () => {
    const token = platform.token('loc_kill', 'usr_1');
    const put = (i: number, revisionHint: string) =>
      api(`${platform.urls.conversations}/v1/locations/loc_kill/contacts/ct_${i}`, {
        method: 'PUT',
        token,
        body: { email: `c${i}-${revisionHint}@example.com`, assignedUserId: 'usr_1' },
      });
    for (let i = 0; i < 40; i++) expect((await put(i, 'a')).status).toBe(201);
    await platform.kill('sync-engine');
    // While it is down, every contact changes again: the events wait in Kafka.
    for (let i = 0; i < 40; i++) expect((await put(i, 'b')).status).toBe(200);
    await platform.restart('sync-engine');
    await expectEventually(
      async () => {
        const items = await projection('loc_kill');
        expect(items).toHaveLength(40);
        for (const c of items)
          expect(c).toMatchObject({ email: expect.stringMatching(/-b@example\.com$/), revision: 2 });
      },
      { timeoutMs: 60_000 },
    );
  });
});
