import {
  appendSignature,
  decideSendAs,
  htmlToText,
  microsoftProxySendAs,
  verifiedGmailSendAs,
  type SendAsProfile,
} from './send-as.rule';

const gmail: SendAsProfile = {
  mailboxAddress: 'sam@acme.example',
  appendSignature: true,
  addresses: verifiedGmailSendAs([
    { sendAsEmail: 'sam@acme.example', isPrimary: true, signature: '<b>Sam</b> &amp; Co<br>Sales' },
    { sendAsEmail: 'sales@acme.example', verificationStatus: 'accepted', signature: '<i>Sales team</i>' },
    { sendAsEmail: 'ceo@acme.example', verificationStatus: 'pending' },
  ]),
};

describe('send-as rule (SND-7)', () => {
  it('SND-7: Gmail send-as keeps only the primary and accepted aliases', () => {
    expect(gmail.addresses.map((a) => a.address)).toEqual(['sam@acme.example', 'sales@acme.example']);
  });

  it('SND-7: Microsoft proxy addresses: SMTP: is primary, smtp: aliases, other types ignored', () => {
    expect(
      microsoftProxySendAs([
        'SMTP:sam@contoso.example',
        'smtp:s.hill@contoso.example',
        'SIP:sam@contoso.example',
        'x500:/o=x',
      ]),
    ).toEqual([
      { address: 'sam@contoso.example', primary: true, signatureHtml: null },
      { address: 's.hill@contoso.example', primary: false, signatureHtml: null },
    ]);
  });

  it('SND-7: a verified alias is allowed (case-insensitively) with its own signature; an unverified one is refused naming the allowed ones', () => {
    const ok = decideSendAs('Sales@Acme.example', gmail);
    expect(ok).toMatchObject({
      outcome: 'allow',
      from: 'sales@acme.example',
      signature: { html: '<i>Sales team</i>', text: 'Sales team' },
    });
    const no = decideSendAs('ceo@acme.example', gmail);
    expect(no).toMatchObject({
      outcome: 'refuse',
      code: 'from_not_verified',
      allowed: ['sam@acme.example', 'sales@acme.example'],
    });
    expect(decideSendAs('someone@else.example', gmail).outcome).toBe('refuse');
  });

  it('SND-7: a blank From is the mailbox address; no signature when the setting is off', () => {
    expect(decideSendAs(undefined, gmail)).toMatchObject({ outcome: 'allow', from: 'sam@acme.example' });
    expect(decideSendAs('', { ...gmail, appendSignature: false })).toMatchObject({
      outcome: 'allow',
      signature: null,
    });
  });

  it('SND-7: the CRM-set signature (Outlook) is escaped for HTML and kept as is for text', () => {
    const outlook: SendAsProfile = {
      mailboxAddress: 'sam@contoso.example',
      appendSignature: true,
      crmSignature: 'Sam <Sales> & Co\n+1 555',
      addresses: microsoftProxySendAs(['SMTP:sam@contoso.example', 'smtp:sales@contoso.example']),
    };
    expect(decideSendAs('sales@contoso.example', outlook)).toMatchObject({
      outcome: 'allow',
      signature: { html: 'Sam &lt;Sales&gt; &amp; Co<br>+1 555', text: 'Sam <Sales> & Co\n+1 555' },
    });
  });

  it('SND-7: the signature goes into both bodies, converted, and never twice', () => {
    const sig = { html: '<b>Sam</b> &amp; Co<br>Sales', text: htmlToText('<b>Sam</b> &amp; Co<br>Sales') };
    expect(sig.text).toBe('Sam & Co\nSales');
    const once = appendSignature({ text: 'Hello.\n', html: '<html><body><p>Hello.</p></body></html>' }, sig);
    expect(once.text).toBe('Hello.\n\n-- \nSam & Co\nSales');
    expect(once.html).toBe(
      '<html><body><p>Hello.</p><br><br><div class="mailbridge-signature"><b>Sam</b> &amp; Co<br>Sales</div></body></html>',
    );
    expect(appendSignature(once, sig)).toEqual(once);
    expect(appendSignature({ text: 'Hi', html: null }, sig)).toEqual({
      text: 'Hi\n\n-- \nSam & Co\nSales',
      html: null,
    });
    expect(appendSignature({ text: 'Hi', html: null }, null)).toEqual({ text: 'Hi', html: null });
  });
});
