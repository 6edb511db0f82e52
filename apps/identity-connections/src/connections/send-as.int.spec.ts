import {
  GOOGLE_USER,
  Harness,
  MICROSOFT_USER,
  connectMailbox,
  startHarness,
} from '../testing/identity-harness';

describe('identity-connections: send-as addresses and the signature setting (SND-7)', () => {
  let h: Harness;
  const url = (loc: string, user: string, tail = '') =>
    `/v1/locations/${loc}/users/${user}/email-connection${tail}`;
  const auth = (loc: string, user: string) => `Bearer ${h.token(loc, user)}`;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('SND-7: Gmail: the route lists the primary and accepted aliases with their signatures, never a pending one; the internal route gives the same with the setting', async () => {
    h.sandbox.control.setSendAs(GOOGLE_USER, {
      signature: '<div>Sam</div>',
      aliases: [
        { address: 'sales@gmail.sandbox.mailbridge.test', displayName: 'Sales', signature: '<b>Sales</b>' },
        { address: 'pending@gmail.sandbox.mailbridge.test', verified: false },
      ],
    });
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_s1',
      userId: 'usr_sam',
      mailbox: GOOGLE_USER,
    });
    const res = await h
      .http()
      .get(url('loc_s1', 'usr_sam', '/send-as'))
      .set('Authorization', auth('loc_s1', 'usr_sam'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      mailboxAddress: GOOGLE_USER,
      addresses: [
        { address: GOOGLE_USER, displayName: expect.any(String), primary: true, signature: '<div>Sam</div>' },
        {
          address: 'sales@gmail.sandbox.mailbridge.test',
          displayName: 'Sales',
          primary: false,
          signature: '<b>Sales</b>',
        },
      ],
      appendSignature: false,
      signature: null,
    });

    const patched = await h
      .http()
      .patch(url('loc_s1', 'usr_sam'))
      .set('Authorization', auth('loc_s1', 'usr_sam'))
      .send({ appendSignature: true, signature: 'Sam Hill\nAcme' });
    expect(patched.status).toBe(200);
    expect(patched.body.appendSignature).toBe(true);

    const internal = await h
      .http()
      .get(`/internal/connections/${patched.body.connectionId as string}/send-as`)
      .set('Authorization', `Bearer ${h.internalApiToken}`);
    expect(internal.status).toBe(200);
    expect(internal.body).toMatchObject({ appendSignature: true, signature: 'Sam Hill\nAcme' });
    expect(internal.body.addresses).toHaveLength(2);
  });

  it('SND-7: a signature that is not text, or too long, is a 400 with the error shape', async () => {
    const res = await h
      .http()
      .patch(url('loc_s1', 'usr_sam'))
      .set('Authorization', auth('loc_s1', 'usr_sam'))
      .send({ signature: 'x'.repeat(10_001) });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toEqual(expect.any(String));
    const bad = await h
      .http()
      .patch(url('loc_s1', 'usr_sam'))
      .set('Authorization', auth('loc_s1', 'usr_sam'))
      .send({ appendSignature: 'yes' });
    expect(bad.status).toBe(400);
  });

  it('SND-7: Microsoft: the SMTP proxy addresses are the send-as addresses', async () => {
    h.sandbox.control.setSendAs(MICROSOFT_USER, {
      aliases: [{ address: 'sam.alias@outlook.sandbox.mailbridge.test' }],
    });
    await connectMailbox(h, {
      provider: 'microsoft',
      locationId: 'loc_s2',
      userId: 'usr_sam',
      mailbox: MICROSOFT_USER,
    });
    const res = await h
      .http()
      .get(url('loc_s2', 'usr_sam', '/send-as'))
      .set('Authorization', auth('loc_s2', 'usr_sam'));
    expect(res.status).toBe(200);
    expect(res.body.addresses).toEqual([
      { address: MICROSOFT_USER, displayName: null, primary: true, signature: null },
      {
        address: 'sam.alias@outlook.sandbox.mailbridge.test',
        displayName: null,
        primary: false,
        signature: null,
      },
    ]);
  });
});
