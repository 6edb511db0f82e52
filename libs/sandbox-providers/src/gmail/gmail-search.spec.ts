import { compileGmailQuery, type SearchableMessage, tokenizeQuery } from './gmail-search';

const now = Date.UTC(2025, 5, 1);
const message: SearchableMessage = {
  messageIdHeader: '<Abc.123@mail.example.com>',
  from: 'Ann Example <ann@example.com>',
  to: 'bob@example.org',
  cc: 'carol@example.net',
  bcc: '',
  subject: 'Quarterly report',
  body: 'Numbers attached',
  labelIds: new Set(['INBOX', 'UNREAD']),
  internalDate: now - 2 * 86_400_000,
  hasAttachment: true,
  filenames: ['q2.pdf'],
};

describe('Gmail search subset', () => {
  it.each([
    ['rfc822msgid:<Abc.123@mail.example.com>', true],
    ['rfc822msgid:abc.123@mail.example.com', true],
    ['rfc822msgid:other@x', false],
    ['from:ann@example.com', true],
    ['to:carol@example.net', true],
    ['subject:"quarterly report"', true],
    ['in:inbox is:unread', true],
    ['in:sent', false],
    ['has:attachment filename:pdf', true],
    ['-from:ann', false],
    ['after:2025/05/01 before:2025/06/01', true],
    ['newer_than:1d', false],
    ['older_than:1d', true],
    ['numbers', true],
    ['', true],
  ])('%s -> %s', (q, expected) => {
    expect(compileGmailQuery(q, now)(message)).toBe(expected);
  });

  it('keeps quoted phrases together', () => {
    expect(tokenizeQuery('subject:"a b" from:c')).toEqual(['subject:a b', 'from:c']);
  });
});
