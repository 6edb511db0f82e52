import { emailFingerprint, sameEmail } from './message-identity.util';

const email = {
  rfcMessageId: '<xxxx@broken.example>',
  from: { address: 'Alice@Example.com' },
  sentAt: '2026-03-01T10:00:00.000Z',
  subject: 'Quarterly report',
};

describe('message identity (loss path 5 / SYN-5)', () => {
  it('loss path 5 / SYN-5: the copies of one email are the same email (address case, Date milliseconds, folded subject)', () => {
    expect(
      sameEmail(email, {
        ...email,
        from: { address: 'alice@example.com' },
        sentAt: new Date('2026-03-01T10:00:00.900Z'),
        subject: ' Quarterly\r\n  report',
      }),
    ).toBe(true);
  });

  it('loss path 5 / SYN-5: a reused Message-ID from another sender, Date or subject is another email', () => {
    expect(sameEmail(email, { ...email, from: { address: 'bob@example.com' } })).toBe(false);
    expect(sameEmail(email, { ...email, sentAt: '2026-03-01T10:00:01.000Z' })).toBe(false);
    expect(sameEmail(email, { ...email, sentAt: null })).toBe(false);
    expect(sameEmail(email, { ...email, subject: 'Invoice' })).toBe(false);
  });

  it('loss path 5 / SYN-5: without a Message-ID nothing is provably the same', () => {
    expect(sameEmail({ ...email, rfcMessageId: null }, { ...email, rfcMessageId: null })).toBe(false);
  });

  it('compares a subject as it can be stored (NUL and lone surrogates dropped)', () => {
    expect(emailFingerprint({ ...email, subject: 'hello\u0000' })).toBe(
      emailFingerprint({ ...email, subject: 'hello' }),
    );
    expect(emailFingerprint({ ...email, subject: 'a\uD800b' })).toBe(
      emailFingerprint({ ...email, subject: 'ab' }),
    );
  });
});
