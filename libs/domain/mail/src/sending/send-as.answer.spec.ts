import { sendAsProfileFromAnswer, toSendAsAnswer } from './send-as.answer';
import type { SendAsProfile } from './send-as.rule';

describe('the send-as answer between identity-connections and its readers (SND-7)', () => {
  const profile: SendAsProfile = {
    mailboxAddress: 'sam@acme.example',
    addresses: [
      { address: 'sam@acme.example', displayName: 'Sam', primary: true, signatureHtml: null },
      { address: 'sales@acme.example', displayName: null, primary: false, signatureHtml: '<b>Sales</b>' },
    ],
    appendSignature: true,
    crmSignature: 'Sam Hill',
  };

  it('SND-7: what identity-connections answers reads back as the same profile, over JSON', () => {
    const wire = JSON.parse(JSON.stringify(toSendAsAnswer(profile)));
    expect(wire.addresses[1]).toEqual({
      address: 'sales@acme.example',
      displayName: null,
      primary: false,
      signature: '<b>Sales</b>',
    });
    expect(sendAsProfileFromAnswer(wire)).toEqual(profile);
  });

  it.each([
    ['no body', undefined],
    ['an error body', { error: { code: 'not_found' } }],
    ['addresses missing', { mailboxAddress: 'sam@acme.example', appendSignature: false, signature: null }],
    [
      'an address without its primary flag',
      {
        mailboxAddress: 'sam@acme.example',
        addresses: [{ address: 'x@acme.example', displayName: null, signature: null }],
        appendSignature: false,
        signature: null,
      },
    ],
    [
      'appendSignature as a string',
      { mailboxAddress: 'sam@acme.example', addresses: [], appendSignature: 'yes', signature: null },
    ],
  ])('SND-7: %s is no answer (null), never a guessed profile', (_name, body) => {
    expect(sendAsProfileFromAnswer(body)).toBeNull();
  });
});
