import { expectEventually } from '@mailbridge/testing';
import { Harness, startHarness } from '../testing/harness';

const LOC = 'loc_excl';

describe('conversations: the location exclusion list (SYN-8), real app + PostgreSQL', () => {
  let h: Harness;
  const token = () => h.svc.token(LOC, 'usr_admin');
  const url = `/v1/locations/${LOC}/sync-exclusions`;
  const put = (body: unknown) =>
    h
      .http()
      .put(url)
      .set('Authorization', `Bearer ${token()}`)
      .send(body as object);
  const changes = () => h.published.filter((e) => e.type === 'sync-exclusions.changed' && e.key === LOC);

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('SYN-8: empty until set; a PUT replaces the list, normalised, and publishes it once; the same PUT again changes nothing', async () => {
    const empty = await h.http().get(url).set('Authorization', `Bearer ${token()}`);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      addresses: [],
      domains: [],
      betweenLocationUsers: false,
      revision: 0,
      updatedAt: null,
    });

    const body = {
      addresses: ['Doctor@Clinic.example', 'doctor@clinic.example'],
      domains: ['Bank.Example'],
      betweenLocationUsers: true,
    };
    const first = await put(body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      addresses: ['doctor@clinic.example'],
      domains: ['bank.example'],
      betweenLocationUsers: true,
      revision: 1,
    });
    await expectEventually(() => expect(changes()).toHaveLength(1));
    expect(changes()[0].payload).toMatchObject({
      locationId: LOC,
      scope: 'location',
      connectionId: null,
      addresses: ['doctor@clinic.example'],
      domains: ['bank.example'],
      betweenLocationUsers: true,
      revision: 1,
    });
    expect((await put(body)).body.revision).toBe(1);
    const second = await put({ addresses: [], domains: ['bank.example'] });
    expect(second.body).toMatchObject({ addresses: [], betweenLocationUsers: false, revision: 2 });
    await expectEventually(() => expect(changes()).toHaveLength(2));
    expect((await h.http().get(url).set('Authorization', `Bearer ${token()}`)).body.revision).toBe(2);
  });

  it.each([
    ['an address that is not one', { addresses: ['not-an-address'], domains: [] }],
    ['a domain with a scheme', { addresses: [], domains: ['https://bank.example'] }],
    ['a domain without a dot', { addresses: [], domains: ['localhost'] }],
    ['an address as a domain', { addresses: [], domains: ['a@bank.example'] }],
    ['a list that is not a list', { addresses: 'doctor@clinic.example', domains: [] }],
    ['missing lists', { betweenLocationUsers: true }],
    ['a switch that is not a boolean', { addresses: [], domains: [], betweenLocationUsers: 'yes' }],
    [
      'too many addresses',
      { addresses: Array.from({ length: 1001 }, (_v, i) => `a${i}@x.example`), domains: [] },
    ],
    ['too many domains', { addresses: [], domains: Array.from({ length: 501 }, (_v, i) => `d${i}.example`) }],
  ])('SYN-8: %s is a 400 in the error shape, and nothing changes', async (_name, body) => {
    const before = changes().length;
    const res = await put(body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: expect.objectContaining({ code: 'invalid_request', message: expect.any(String) }),
    });
    expect(changes()).toHaveLength(before);
  });

  it('SYN-8: another location cannot read or change it (403)', async () => {
    const other = h.svc.token('loc_other', 'usr_x');
    expect((await h.http().get(url).set('Authorization', `Bearer ${other}`)).status).toBe(403);
    expect(
      (await h.http().put(url).set('Authorization', `Bearer ${other}`).send({ addresses: [], domains: [] }))
        .status,
    ).toBe(403);
  });
});
