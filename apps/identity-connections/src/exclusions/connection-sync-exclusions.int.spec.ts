import { Topics, type EventEnvelope } from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { GOOGLE_USER, Harness, connectMailbox, startHarness } from '../testing/identity-harness';

const PATH = '/v1/locations/loc_ex/users/usr_ex/email-connection/sync-exclusions';

describe('identity-connections: the connection exclusion list (SYN-8)', () => {
  let h: Harness;
  const published: EventEnvelope[] = [];
  const auth = () => ({ Authorization: `Bearer ${h.token('loc_ex', 'usr_ex')}` });

  beforeAll(async () => {
    h = await startHarness();
    await h.bus.subscribe({
      groupId: 'test.exclusions',
      topics: [Topics.identityConnections],
      handler: async (e) => {
        if (e.type === 'connection.sync-exclusions-changed') published.push(e);
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('SYN-8: without a live connection the list is 404 connection_not_found', async () => {
    const res = await h.http().get(PATH).set(auth());
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('connection_not_found');
  });

  it("SYN-8: a PUT replaces the current connection's list and publishes it with the connection id; invalid input is a 400", async () => {
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_ex',
      userId: 'usr_ex',
      mailbox: GOOGLE_USER,
    });
    const status = await h
      .http()
      .get('/v1/locations/loc_ex/users/usr_ex/email-connection')
      .set(auth())
      .expect(200);
    const { connectionId } = status.body as { connectionId: string };

    expect((await h.http().get(PATH).set(auth())).body).toEqual({
      addresses: [],
      domains: [],
      revision: 0,
      updatedAt: null,
    });
    const res = await h
      .http()
      .put(PATH)
      .set(auth())
      .send({ addresses: ['Doctor@Clinic.example'], domains: ['bank.example', 'Bank.example'] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      addresses: ['doctor@clinic.example'],
      domains: ['bank.example'],
      revision: 1,
    });
    await expectEventually(() => expect(published).toHaveLength(1));
    expect(published[0]).toMatchObject({
      type: 'connection.sync-exclusions-changed',
      key: connectionId,
      payload: {
        scope: 'connection',
        connectionId,
        userId: 'usr_ex',
        addresses: ['doctor@clinic.example'],
        domains: ['bank.example'],
        revision: 1,
      },
    });

    for (const bad of [
      { addresses: ['nope'], domains: [] },
      { addresses: [], domains: ['bank'] },
      { addresses: [], domains: Array.from({ length: 501 }, (_v, i) => `d${i}.example`) },
      { domains: [] },
    ]) {
      const refused = await h.http().put(PATH).set(auth()).send(bad);
      expect({ status: refused.status, code: refused.body.error?.code }).toEqual({
        status: 400,
        code: 'invalid_request',
      });
    }
    expect((await h.http().get(PATH).set(auth())).body.revision).toBe(1);
  });
});
