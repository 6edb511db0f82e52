import type { EventEnvelope } from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import {
  GOOGLE_OTHER,
  GOOGLE_USER,
  Harness,
  MICROSOFT_OTHER,
  MICROSOFT_USER,
  accessToken,
  connectMailbox,
  dumpSchema,
  pick,
  startHarness,
} from '../testing/identity-harness';
import { TokenCipher, parseKeyRing } from '../vault/token-cipher';
import { connectionContext, deserializeContents } from '../vault/vault-contents';

type Snapshot = {
  connectionId: string;
  locationId: string;
  userId: string;
  emailAddress: string;
  status: string;
  syncScope: string;
};
const snapshotOf = (e: EventEnvelope) => (e.payload as { connection: Snapshot }).connection;

describe('identity-connections: connection lifecycle (CON-2..CON-5) against the sandbox providers', () => {
  let h: Harness;
  /** Every secret the providers issued to the service, to look for where none may appear. */
  const secrets = new Set<string>();
  /** Every response body the CRM or the gateway saw (besides the token route's own answer). */
  const crmResponses: string[] = [];

  const crm = (loc: string, user: string) => ({ Authorization: `Bearer ${h.token(loc, user)}` });
  const status = async (loc: string, user: string) => {
    const res = await h.http().get(`/v1/locations/${loc}/users/${user}/email-connection`).set(crm(loc, user));
    crmResponses.push(JSON.stringify(res.body));
    return res;
  };
  const eventFor = (type: string, match: (s: Snapshot, e: EventEnvelope) => boolean) =>
    expectEventually(() => {
      const found = pick(h.events, type).filter((e) => match(snapshotOf(e), e));
      expect(found.length).toBeGreaterThan(0);
      return found[found.length - 1];
    });
  /** Opens the vault as the service would (the test knows the key) and remembers every secret in it. */
  const harvest = async () => {
    const cipher = new TokenCipher(parseKeyRing(h.env.TOKEN_ENCRYPTION_KEYS));
    const rows = await h.sql<{ connection_id: string; secret_enc: string }>(
      `SELECT connection_id, secret_enc FROM identity_connections.connection_tokens`,
    );
    for (const row of rows) {
      const contents = deserializeContents(
        cipher.decrypt(row.secret_enc, connectionContext(row.connection_id)),
      );
      secrets.add(contents.access.accessToken);
      if (contents.secrets.provider === 'google') secrets.add(contents.secrets.refreshToken);
      else {
        const cache = JSON.parse(contents.secrets.msalCache) as Record<
          string,
          Record<string, { secret: string }>
        >;
        for (const kind of ['RefreshToken', 'AccessToken', 'IdToken']) {
          for (const entry of Object.values(cache[kind] ?? {})) secrets.add(entry.secret);
        }
      }
    }
    for (const call of h.googleTokenCalls) {
      for (const k of ['access_token', 'refresh_token', 'id_token']) {
        if (typeof call.body[k] === 'string') secrets.add(call.body[k] as string);
      }
    }
  };
  const tokenInfo = (accessTokenValue: string) =>
    fetch(`${new URL(h.env.GOOGLE_OAUTH_REVOKE_URL).origin}/tokeninfo?access_token=${accessTokenValue}`);

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('CON-3: update email replaces the active connection; the old one ends as replaced and its grant is revoked', async () => {
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_a',
      userId: 'usr_sam',
      mailbox: GOOGLE_USER,
    });
    const first = snapshotOf(await eventFor('connection.connected', (s) => s.userId === 'usr_sam'));
    const oldToken = await accessToken(h, first.connectionId);
    expect(oldToken.status).toBe(200);
    await harvest();

    // The user switches to another mailbox without disconnecting first.
    const { returnedTo } = await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_a',
      userId: 'usr_sam',
      mailbox: GOOGLE_OTHER,
    });
    expect(returnedTo.searchParams.get('status')).toBe('connected');
    const updated = await eventFor('connection.updated', (s) => s.userId === 'usr_sam');
    expect(updated.payload).toEqual({
      connection: expect.objectContaining({
        locationId: 'loc_a',
        userId: 'usr_sam',
        emailAddress: GOOGLE_OTHER,
        mailboxKey: `google:${GOOGLE_OTHER}`,
        status: 'active',
      }),
      previousConnectionId: first.connectionId,
    });
    const current = snapshotOf(updated);
    expect(current.connectionId).not.toBe(first.connectionId);
    expect((await status('loc_a', 'usr_sam')).body).toMatchObject({
      connectionId: current.connectionId,
      emailAddress: GOOGLE_OTHER,
      status: 'active',
    });

    // The old connection is over: the gateway learns so from the token route (410) and the mailbox listing.
    const ended = await accessToken(h, first.connectionId);
    expect(ended.status).toBe(410);
    expect(ended.body.error.code).toBe('connection_ended');
    const listing = await h
      .http()
      .get('/internal/connections')
      .query({ mailboxKey: `google:${GOOGLE_USER.toUpperCase()}` })
      .set('Authorization', `Bearer ${h.internalApiToken}`);
    expect(listing.body.items).toEqual([
      expect.objectContaining({
        connectionId: first.connectionId,
        status: 'replaced',
        endedAt: expect.any(String),
      }),
    ]);
    // sync-engine routes with the user's own listing (newest first): the replacement is active, the old one ended.
    const mine = await h
      .http()
      .get('/internal/connections')
      .query({ locationId: 'loc_a', userId: 'usr_sam' })
      .set('Authorization', `Bearer ${h.internalApiToken}`);
    expect(mine.status).toBe(200);
    expect((mine.body.items as Snapshot[]).map((c) => [c.connectionId, c.status])).toEqual([
      [current.connectionId, 'active'],
      [first.connectionId, 'replaced'],
    ]);
    const half = await h
      .http()
      .get('/internal/connections')
      .query({ userId: 'usr_sam' })
      .set('Authorization', `Bearer ${h.internalApiToken}`);
    expect([half.status, half.body.error?.code]).toEqual([400, 'user_required']);
    const mixed = await h
      .http()
      .get('/internal/connections')
      .query({ mailboxKey: `google:${GOOGLE_USER}`, userId: 'usr_sam' })
      .set('Authorization', `Bearer ${h.internalApiToken}`);
    expect([mixed.status, mixed.body.error?.code]).toEqual([400, 'invalid_request']);
    // Nobody else uses the old mailbox, so its grant was revoked at Google and our copy destroyed.
    expect((await tokenInfo(oldToken.body.accessToken as string)).status).toBe(400);
    expect(await h.sql(`SELECT 1 FROM identity_connections.token_revocations`)).toEqual([]);
    expect(
      await h.sql(`SELECT 1 FROM identity_connections.connection_tokens WHERE connection_id = $1`, [
        first.connectionId,
      ]),
    ).toEqual([]);
    expect((await accessToken(h, current.connectionId)).status).toBe(200);
    await harvest();
  });

  it('CON-3: updating from Gmail to Outlook gives the new connection the Outlook default sync scope', async () => {
    await connectMailbox(h, {
      provider: 'microsoft',
      locationId: 'loc_a',
      userId: 'usr_sam',
      mailbox: MICROSOFT_USER,
    });
    const updated = await eventFor('connection.updated', (s) => s.emailAddress === MICROSOFT_USER);
    expect(snapshotOf(updated)).toMatchObject({ syncScope: 'crm_threads', status: 'active' });
    expect((await status('loc_a', 'usr_sam')).body).toMatchObject({
      provider: 'microsoft',
      syncScope: 'crm_threads',
    });
    await harvest();
  });

  it('SYN-3: PATCH changes the sync scope and says so once; invalid values are refused', async () => {
    const patch = (body: object) =>
      h
        .http()
        .patch('/v1/locations/loc_a/users/usr_sam/email-connection')
        .set(crm('loc_a', 'usr_sam'))
        .send(body);
    const before = pick(h.events, 'connection.settings-changed').length;
    const res = await patch({ syncScope: 'contact_mail' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ syncScope: 'contact_mail', emailAddress: MICROSOFT_USER });
    await patch({ syncScope: 'contact_mail' }).expect(200);
    const changed = await eventFor('connection.settings-changed', (s) => s.userId === 'usr_sam');
    expect(snapshotOf(changed).syncScope).toBe('contact_mail');
    expect(pick(h.events, 'connection.settings-changed')).toHaveLength(before + 1);
    const bad = await patch({ syncScope: 'everything' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    const none = await h
      .http()
      .patch('/v1/locations/loc_z/users/usr_none/email-connection')
      .set(crm('loc_z', 'usr_none'))
      .send({ syncScope: 'crm_threads' });
    expect(none.status).toBe(404);
  });

  it('CON-4: disconnect needs { confirm: true }, revokes the grant at Google, ends the connection and says so', async () => {
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_d',
      userId: 'usr_dana',
      mailbox: GOOGLE_USER,
    });
    const conn = snapshotOf(await eventFor('connection.connected', (s) => s.userId === 'usr_dana'));
    const token = await accessToken(h, conn.connectionId);
    expect((await tokenInfo(token.body.accessToken as string)).status).toBe(200);
    await harvest();

    for (const body of [{}, { confirm: false }, { confirm: 'yes' }]) {
      const refused = await h
        .http()
        .delete('/v1/locations/loc_d/users/usr_dana/email-connection')
        .set(crm('loc_d', 'usr_dana'))
        .send(body);
      expect(refused.status).toBe(400);
      expect(['confirmation_required', 'invalid_request']).toContain(refused.body.error.code);
    }
    const noBody = await h
      .http()
      .delete('/v1/locations/loc_d/users/usr_dana/email-connection')
      .set(crm('loc_d', 'usr_dana'));
    expect(noBody.body.error.code).toBe('confirmation_required');
    expect((await status('loc_d', 'usr_dana')).body.status).toBe('active');

    const res = await h
      .http()
      .delete('/v1/locations/loc_d/users/usr_dana/email-connection')
      .set(crm('loc_d', 'usr_dana'))
      .send({ confirm: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ connectionId: conn.connectionId, status: 'disconnected' });
    crmResponses.push(JSON.stringify(res.body));

    // Revoked at the provider: Google no longer knows the token.
    expect((await tokenInfo(token.body.accessToken as string)).status).toBe(400);
    const disconnected = await eventFor('connection.disconnected', (s) => s.userId === 'usr_dana');
    expect(disconnected.payload).toEqual({
      connection: expect.objectContaining({ connectionId: conn.connectionId, status: 'disconnected' }),
      disconnectedAt: expect.any(String),
    });
    expect((await status('loc_d', 'usr_dana')).body.status).toBe('disconnected');
    expect((await accessToken(h, conn.connectionId)).status).toBe(410);
    expect(
      await h.sql(
        `SELECT 1 FROM identity_connections.connection_tokens WHERE connection_id = $1
         UNION ALL SELECT 1 FROM identity_connections.token_revocations WHERE connection_id = $1`,
        [conn.connectionId],
      ),
    ).toEqual([]);
    const again = await h
      .http()
      .delete('/v1/locations/loc_d/users/usr_dana/email-connection')
      .set(crm('loc_d', 'usr_dana'))
      .send({ confirm: true });
    expect(again.status).toBe(404);
  });

  it('CON-4: disconnecting Outlook destroys the stored MSAL cache (Entra has no per-grant revocation)', async () => {
    await connectMailbox(h, {
      provider: 'microsoft',
      locationId: 'loc_d',
      userId: 'usr_olly',
      mailbox: MICROSOFT_OTHER,
    });
    const conn = snapshotOf(await eventFor('connection.connected', (s) => s.userId === 'usr_olly'));
    await harvest();
    await h
      .http()
      .delete('/v1/locations/loc_d/users/usr_olly/email-connection')
      .set(crm('loc_d', 'usr_olly'))
      .send({ confirm: true })
      .expect(200);
    await eventFor('connection.disconnected', (s) => s.userId === 'usr_olly');
    expect((await accessToken(h, conn.connectionId)).status).toBe(410);
    expect(
      await h.sql(
        `SELECT 1 FROM identity_connections.connection_tokens WHERE connection_id = $1
         UNION ALL SELECT 1 FROM identity_connections.token_revocations WHERE connection_id = $1`,
        [conn.connectionId],
      ),
    ).toEqual([]);
  });

  it('CON-6/SYN-4: one mailbox connected in two locations; disconnecting one leaves the other working', async () => {
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_m1',
      userId: 'usr_max',
      mailbox: GOOGLE_USER,
    });
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_m2',
      userId: 'usr_max',
      mailbox: GOOGLE_USER,
    });
    const one = snapshotOf(await eventFor('connection.connected', (s) => s.locationId === 'loc_m1'));
    const two = snapshotOf(await eventFor('connection.connected', (s) => s.locationId === 'loc_m2'));
    expect(one.connectionId).not.toBe(two.connectionId);
    const listing = await h
      .http()
      .get('/internal/connections')
      .query({ mailboxKey: `google:${GOOGLE_USER}` })
      .set('Authorization', `Bearer ${h.internalApiToken}`);
    expect(
      (listing.body.items as Snapshot[])
        .filter((c) => c.status === 'active')
        .map((c) => c.locationId)
        .sort(),
    ).toEqual(['loc_m1', 'loc_m2']);
    expect((await accessToken(h, one.connectionId)).status).toBe(200);
    expect((await accessToken(h, two.connectionId)).status).toBe(200);
    await harvest();

    await h
      .http()
      .delete('/v1/locations/loc_m1/users/usr_max/email-connection')
      .set(crm('loc_m1', 'usr_max'))
      .send({ confirm: true })
      .expect(200);
    // The grant at Google is shared by the two connections: it was not revoked, location 2 still refreshes.
    const still = await accessToken(h, two.connectionId, true);
    expect(still.status).toBe(200);
    expect(h.googleTokenCalls[h.googleTokenCalls.length - 1]).toMatchObject({
      grantType: 'refresh_token',
      status: 200,
    });
    expect((await accessToken(h, one.connectionId)).status).toBe(410);
    await harvest();
  });

  it('refuses a mailbox another user of the same location has connected (it would sync twice)', async () => {
    const { returnedTo } = await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_m2',
      userId: 'usr_other',
      mailbox: GOOGLE_USER,
    });
    expect(returnedTo.searchParams.get('reason')).toBe('mailbox_connected_by_another_user');
    expect((await status('loc_m2', 'usr_other')).status).toBe(404);
  });

  it('CON-5: a revoked Google grant → reauth_required (told once); re-consent → active with the same connection identity', async () => {
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_r',
      userId: 'usr_rita',
      mailbox: GOOGLE_OTHER,
    });
    const conn = snapshotOf(await eventFor('connection.connected', (s) => s.userId === 'usr_rita'));
    await harvest();

    h.sandbox.control.revokeTokens(GOOGLE_OTHER); // the user removed the app in their Google Account
    const refused = await accessToken(h, conn.connectionId, true);
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ error: { code: 'reauth_required', message: expect.any(String) } });
    const flagged = await eventFor('connection.reauth-required', (s) => s.userId === 'usr_rita');
    expect(flagged.payload).toMatchObject({
      connection: { connectionId: conn.connectionId, status: 'reauth_required' },
      reason: 'invalid_grant',
    });
    expect((await accessToken(h, conn.connectionId)).status).toBe(409);
    expect((await status('loc_r', 'usr_rita')).body).toMatchObject({
      connectionId: conn.connectionId,
      status: 'reauth_required',
    });

    // Re-consent: the authorize URL suggests the same account; the connection comes back as it was.
    const { returnedTo, authorizeUrl } = await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_r',
      userId: 'usr_rita',
      mailbox: GOOGLE_OTHER,
    });
    expect(authorizeUrl.searchParams.get('login_hint')).toBe(GOOGLE_OTHER);
    expect(returnedTo.searchParams.get('status')).toBe('connected');
    const reactivated = await eventFor('connection.reactivated', (s) => s.userId === 'usr_rita');
    expect(snapshotOf(reactivated)).toMatchObject({ connectionId: conn.connectionId, status: 'active' });
    expect((await status('loc_r', 'usr_rita')).body).toMatchObject({
      connectionId: conn.connectionId,
      status: 'active',
    });
    const back = await accessToken(h, conn.connectionId, true);
    expect(back.status).toBe(200);
    expect(
      pick(h.events, 'connection.reauth-required').filter((e) => snapshotOf(e).userId === 'usr_rita'),
    ).toHaveLength(1);
    expect(
      pick(h.events, 'connection.updated').filter((e) => snapshotOf(e).userId === 'usr_rita'),
    ).toHaveLength(0);
    await harvest();
  });

  it('CON-5: revoked Microsoft sessions (InteractionRequiredAuthError) → reauth_required; re-consent → same connection, active', async () => {
    await connectMailbox(h, {
      provider: 'microsoft',
      locationId: 'loc_r',
      userId: 'usr_ron',
      mailbox: MICROSOFT_OTHER,
    });
    const conn = snapshotOf(await eventFor('connection.connected', (s) => s.userId === 'usr_ron'));
    await harvest();
    h.sandbox.control.revokeTokens(MICROSOFT_OTHER);
    const refused = await accessToken(h, conn.connectionId, true);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('reauth_required');
    const flagged = await eventFor('connection.reauth-required', (s) => s.userId === 'usr_ron');
    expect((flagged.payload as { reason: string }).reason).toBe('bad_token');

    const { returnedTo } = await connectMailbox(h, {
      provider: 'microsoft',
      locationId: 'loc_r',
      userId: 'usr_ron',
      mailbox: MICROSOFT_OTHER,
    });
    expect(returnedTo.searchParams.get('status')).toBe('connected');
    const reactivated = await eventFor('connection.reactivated', (s) => s.userId === 'usr_ron');
    expect(snapshotOf(reactivated).connectionId).toBe(conn.connectionId);
    const back = await accessToken(h, conn.connectionId, true);
    expect(back.status).toBe(200);
    await harvest();
  });

  it('BCC-1: a stable, unguessable smart-BCC address per (location, user), resolvable by the gateway', async () => {
    const get = async (loc: string, user: string) => {
      const res = await h.http().get(`/v1/locations/${loc}/users/${user}/smart-bcc`).set(crm(loc, user));
      expect(res.status).toBe(200);
      return res.body.address as string;
    };
    const a = await get('loc_r', 'usr_rita');
    expect(a).toMatch(/^bcc-[a-z2-7]{26}@bcc\.mailbridge\.localhost$/);
    expect(await get('loc_r', 'usr_rita')).toBe(a);
    const others = new Set([a, await get('loc_r', 'usr_ron'), await get('loc_other', 'usr_rita')]);
    expect(others.size).toBe(3);

    const resolve = (address: string) =>
      h
        .http()
        .get(`/internal/smart-bcc/${encodeURIComponent(address)}`)
        .set('Authorization', `Bearer ${h.internalApiToken}`);
    const owner = await resolve(a.toUpperCase());
    expect(owner.status).toBe(200);
    expect(owner.body).toEqual({
      locationId: 'loc_r',
      userId: 'usr_rita',
      connectionId: expect.any(String),
      emailAddress: GOOGLE_OTHER,
      provider: 'google',
    });
    expect((await resolve(await get('loc_other', 'usr_rita'))).body).toMatchObject({
      connectionId: null,
      emailAddress: null,
      provider: null,
    });
    expect((await resolve(`bcc-${'a'.repeat(26)}@bcc.mailbridge.localhost`)).status).toBe(404);
    expect((await resolve(a.replace('bcc.mailbridge.localhost', 'evil.example'))).status).toBe(404);
  });

  it('internal routes need the service credential', async () => {
    const conn = (await status('loc_r', 'usr_rita')).body.connectionId as string;
    for (const req of [
      h.http().post(`/internal/connections/${conn}/access-token`).send({}),
      h
        .http()
        .post(`/internal/connections/${conn}/access-token`)
        .set('Authorization', 'Bearer wrong')
        .send({}),
      h
        .http()
        .get('/internal/connections')
        .query({ mailboxKey: `google:${GOOGLE_OTHER}` }),
      h
        .http()
        .get('/internal/smart-bcc/x@bcc.mailbridge.localhost')
        .set('Authorization', `Bearer ${h.token('loc_r', 'usr_rita')}`),
    ]) {
      const res = await req;
      expect(res.status).toBe(401);
      expect(JSON.stringify(res.body)).not.toContain('ya29');
    }
    const unknown = await accessToken(h, '00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect((await accessToken(h, 'not-a-uuid')).status).toBe(404);
  });

  it('CON-1: no token in a log line, an event, a CRM response or a database row (the raw rows hold ciphertext only)', async () => {
    await harvest();
    const values = [...secrets].filter((s) => s.length >= 20);
    // Google access + refresh, Microsoft access + refresh + id tokens, from several connections.
    expect(values.length).toBeGreaterThanOrEqual(15);
    expect(values.some((v) => v.startsWith('1//'))).toBe(true);
    expect(values.some((v) => v.startsWith('ya29.'))).toBe(true);

    const logs = h.logs.join('\n');
    expect(h.logs.length).toBeGreaterThan(50);
    expect(logs).toContain('access token refreshed');
    const events = JSON.stringify(h.events);
    const rows = await dumpSchema(h);
    expect(rows).toContain('"secret_enc":"v1.k1.');
    const responses = crmResponses.join('\n');
    for (const value of values) {
      expect({ where: 'logs', leaked: logs.includes(value) }).toEqual({ where: 'logs', leaked: false });
      expect({ where: 'events', leaked: events.includes(value) }).toEqual({ where: 'events', leaked: false });
      expect({ where: 'database', leaked: rows.includes(value) }).toEqual({
        where: 'database',
        leaked: false,
      });
      expect({ where: 'responses', leaked: responses.includes(value) }).toEqual({
        where: 'responses',
        leaked: false,
      });
    }
    // And nothing token-shaped at all in the logs.
    expect(logs).not.toMatch(/ya29\.|1\/\/0|eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
  });
});
