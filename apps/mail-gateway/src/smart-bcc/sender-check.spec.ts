import { checkSmartBccSender } from './sender-check';

const owner = {
  address: 'bcc-x@bcc.example',
  locationId: 'loc_1',
  userId: 'usr_1',
  connectionId: '7d5e1c1e-5d0e-4a53-9a43-5c6f1a3b2c10',
  emailAddress: 'sam@acme.example',
  provider: 'google' as const,
};

describe('smart-BCC sender check (BCC-1)', () => {
  it('BCC-1: accepts the user’s connected mailbox in From and MAIL FROM, whatever the case', () => {
    expect(
      checkSmartBccSender({
        owner,
        envelopeFrom: 'Sam@Acme.example',
        headerFrom: 'sam@acme.example',
        allowedSenders: [],
      }),
    ).toEqual({ ok: true });
  });

  it('BCC-1: refuses a forged From or MAIL FROM, and a null sender, naming what did not match', () => {
    const forged = checkSmartBccSender({
      owner,
      envelopeFrom: 'sam@acme.example',
      headerFrom: 'ceo@evil.example',
      allowedSenders: [],
    });
    expect(forged).toEqual({ ok: false, detail: expect.stringContaining('From ceo@evil.example') });
    const bounce = checkSmartBccSender({
      owner,
      envelopeFrom: null,
      headerFrom: 'sam@acme.example',
      allowedSenders: [],
    });
    expect(bounce).toEqual({ ok: false, detail: expect.stringContaining('MAIL FROM <>') });
  });

  it('BCC-1: accepts configured senders (address or @domain) and trusts a user with no connected mailbox', () => {
    const allowedSenders = ['sales@acme.example', '@mail.acme.example'];
    expect(
      checkSmartBccSender({
        owner,
        envelopeFrom: 'bounce@mail.acme.example',
        headerFrom: 'sales@acme.example',
        allowedSenders,
      }),
    ).toEqual({ ok: true });
    expect(
      checkSmartBccSender({
        owner,
        envelopeFrom: 'x@notmail.acme.example',
        headerFrom: 'sales@acme.example',
        allowedSenders,
      }).ok,
    ).toBe(false);
    expect(
      checkSmartBccSender({
        owner: { ...owner, connectionId: null, emailAddress: null },
        envelopeFrom: 'anyone@example.org',
        headerFrom: 'anyone@example.org',
        allowedSenders: [],
      }),
    ).toEqual({ ok: true });
  });
});
