import { startSandboxProviders, type SandboxProviders } from '../index';
import { gmailClient, googleOAuthClient, graphClient, trustExtraCa } from '../test-support/clients';

const GINA = 'gina@gmail.sandbox.test';
const OSCAR = 'oscar@outlook.sandbox.test';
const CONTACT = 'carl@elsewhere.example';

const outboundFor = (sandbox: SandboxProviders, subject: string) =>
  sandbox.control.outbound().filter((o) => o.subject === subject);

describe('send-as aliases and proxy addresses in the emulators, driven by the official clients (SND-7)', () => {
  let sandbox: SandboxProviders;
  let env: Record<string, string>;

  beforeAll(async () => {
    sandbox = await startSandboxProviders({
      mailboxes: [
        { provider: 'google', address: GINA, displayName: 'Gina Gmail' },
        { provider: 'microsoft', address: OSCAR, displayName: 'Oscar Outlook' },
      ],
    });
    env = sandbox.platformEnv();
    trustExtraCa(sandbox.caCertPem);
    sandbox.control.setSendAs(GINA, {
      signature: '<div>Gina &amp; team</div>',
      aliases: [
        { address: 'sales@gmail.sandbox.test', displayName: 'Sales', signature: '<b>Sales desk</b>' },
        { address: 'ceo@gmail.sandbox.test', verified: false },
      ],
    });
    sandbox.control.setSendAs(OSCAR, { aliases: [{ address: 'o.alias@outlook.sandbox.test' }] });
  });
  afterAll(() => sandbox.close());

  function gmail() {
    const auth = googleOAuthClient(env);
    const tokens = sandbox.control.issueTokens(GINA);
    auth.setCredentials({ access_token: String(tokens.access_token) });
    return gmailClient(env, auth);
  }

  it('SND-7: users.settings.sendAs.list answers the primary (with its signature) and every alias with its verificationStatus', async () => {
    const { data } = await gmail().users.settings.sendAs.list({ userId: 'me' });
    expect(data.sendAs).toEqual([
      expect.objectContaining({
        sendAsEmail: GINA,
        isPrimary: true,
        signature: '<div>Gina &amp; team</div>',
      }),
      expect.objectContaining({
        sendAsEmail: 'sales@gmail.sandbox.test',
        verificationStatus: 'accepted',
        signature: '<b>Sales desk</b>',
      }),
      expect.objectContaining({ sendAsEmail: 'ceo@gmail.sandbox.test', verificationStatus: 'pending' }),
    ]);
    expect(data.sendAs?.[0]).not.toHaveProperty('verificationStatus');
  });

  it('SND-7: messages.send keeps an accepted alias in From and rewrites a pending one to the primary', async () => {
    const api = gmail();
    const raw = (from: string, subject: string) =>
      Buffer.from(`From: ${from}\r\nTo: ${CONTACT}\r\nSubject: ${subject}\r\n\r\nHello.\r\n`).toString(
        'base64url',
      );
    await api.users.messages.send({
      userId: 'me',
      requestBody: { raw: raw('Sales <sales@gmail.sandbox.test>', 'alias ok') },
    });
    await api.users.messages.send({
      userId: 'me',
      requestBody: { raw: raw('ceo@gmail.sandbox.test', 'alias pending') },
    });
    const ok = outboundFor(sandbox, 'alias ok');
    expect(ok).toHaveLength(1);
    expect(ok[0].from).toBe('sales@gmail.sandbox.test');
    expect(Buffer.from(ok[0].rawBase64, 'base64').toString()).toMatch(
      /^From: Sales <sales@gmail\.sandbox\.test>/m,
    );
    const pending = outboundFor(sandbox, 'alias pending');
    expect(pending[0].from).toBe(GINA);
    expect(Buffer.from(pending[0].rawBase64, 'base64').toString()).toMatch(
      /^From: .*<gina@gmail\.sandbox\.test>/m,
    );
  });

  it('SND-7: Graph /me returns proxyAddresses only with $select; a draft from a proxy address sends from it, any other from is ErrorSendAsDenied', async () => {
    const client = graphClient(env, () => String(sandbox.control.issueTokens(OSCAR).access_token));
    const plain = await client.api('/me').get();
    expect(plain).not.toHaveProperty('proxyAddresses');
    const selected = await client.api('/me').select('proxyAddresses').get();
    expect(selected.proxyAddresses).toEqual([`SMTP:${OSCAR}`, 'smtp:o.alias@outlook.sandbox.test']);
    expect(selected).not.toHaveProperty('displayName');

    const draft = await client.api('/me/messages').post({
      subject: 'proxy ok',
      body: { contentType: 'text', content: 'Hi' },
      toRecipients: [{ emailAddress: { address: CONTACT } }],
      from: { emailAddress: { address: 'o.alias@outlook.sandbox.test' } },
    });
    await client.api(`/me/messages/${draft.id}/send`).post({});
    const ok = outboundFor(sandbox, 'proxy ok');
    expect(Buffer.from(ok[0].rawBase64, 'base64').toString()).toMatch(
      /^From: .*o\.alias@outlook\.sandbox\.test/m,
    );

    const bad = await client.api('/me/messages').post({
      subject: 'proxy bad',
      body: { contentType: 'text', content: 'Hi' },
      toRecipients: [{ emailAddress: { address: CONTACT } }],
      from: { emailAddress: { address: 'someone@else.example' } },
    });
    await expect(client.api(`/me/messages/${bad.id}/send`).post({})).rejects.toMatchObject({
      statusCode: 403,
      code: 'ErrorSendAsDenied',
    });
    expect(outboundFor(sandbox, 'proxy bad')).toHaveLength(0);
  });
});
