import {
  containsAddress,
  firstRecipientMatching,
  normalizeAddress,
  parseAddress,
  parseAddressList,
  recipientsInHeaderOrder,
  sameAddress,
  uniqueAddresses,
} from './email-address';

describe('parseAddressList', () => {
  it('reads display names, quoted names with commas, and comments', () => {
    expect(
      parseAddressList('"Doe, John" <John.Doe@Example.COM>, jane@x.org (Jane Roe), <bare@y.net>'),
    ).toEqual([
      { name: 'Doe, John', address: 'John.Doe@Example.COM' },
      { name: 'Jane Roe', address: 'jane@x.org' },
      { address: 'bare@y.net' },
    ]);
  });

  it('lists group members in place and drops empty groups and name-only entries', () => {
    expect(
      parseAddressList('Team: a@x.com, "B" <b@y.com>;, c@z.com, undisclosed-recipients:;, John'),
    ).toEqual([{ address: 'a@x.com' }, { name: 'B', address: 'b@y.com' }, { address: 'c@z.com' }]);
  });

  it('decodes RFC 2047 names and punycode domains', () => {
    expect(parseAddressList('=?UTF-8?B?SsO2cmc=?= <jorg@xn--bcher-kva.example>')).toEqual([
      { name: 'Jörg', address: 'jorg@bücher.example' },
    ]);
    expect(parseAddressList('Müller <m@bücher.de>')).toEqual([{ name: 'Müller', address: 'm@bücher.de' }]);
  });

  it('accepts several header values and nothing at all', () => {
    expect(parseAddressList(['a@x.com', 'B <b@y.com>'])).toEqual([
      { address: 'a@x.com' },
      { name: 'B', address: 'b@y.com' },
    ]);
    expect(parseAddressList(undefined)).toEqual([]);
    expect(parseAddressList('')).toEqual([]);
    expect(parseAddress('Only Name')).toBeUndefined();
    expect(parseAddress('"A" <a@x.com>, b@y.com')).toEqual({ name: 'A', address: 'a@x.com' });
  });
});

describe('address matching', () => {
  it('ADR-5: matching ignores case and display names, keeps dots and plus-tags', () => {
    expect(normalizeAddress('  John.Doe+News@Gmail.COM ')).toBe('john.doe+news@gmail.com');
    expect(sameAddress('John.Doe@Example.com', 'john.doe@EXAMPLE.COM')).toBe(true);
    expect(
      sameAddress('"Someone Else" <john@example.com>', { name: 'John', address: 'JOHN@example.com' }),
    ).toBe(true);
    // Gmail dots and plus-tags are not folded: different contacts.
    expect(sameAddress('john.doe@gmail.com', 'johndoe@gmail.com')).toBe(false);
    expect(sameAddress('john+crm@gmail.com', 'john@gmail.com')).toBe(false);
  });

  it('ADR-5: an internationalized domain matches in punycode and Unicode spelling', () => {
    expect(normalizeAddress('Jorg@XN--BCHER-KVA.example')).toBe('jorg@bücher.example');
    expect(sameAddress('jorg@xn--bcher-kva.example', 'JORG@Bücher.example')).toBe(true);
    expect(normalizeAddress('<a@b.c>')).toBe('a@b.c');
  });

  it('finds and deduplicates addresses case-insensitively, first occurrence kept', () => {
    expect(containsAddress(['a@x.com', { address: 'B@Y.com' }], 'b@y.COM')).toBe(true);
    expect(containsAddress(['a@x.com'], 'a.x@x.com')).toBe(false);
    expect(uniqueAddresses([{ address: 'A@x.com', name: 'First' }, { address: 'a@X.com' }])).toEqual([
      { address: 'A@x.com', name: 'First' },
    ]);
  });
});

describe('recipients in header order', () => {
  const message = {
    to: [{ address: 'to1@x.com' }, { address: 'shared@x.com' }],
    cc: [{ address: 'SHARED@x.com' }, { address: 'cc1@x.com' }],
    bcc: [{ address: 'bcc1@x.com' }],
  };

  it('ADR-2: lists To, then Cc, then Bcc, each mailbox once', () => {
    expect(recipientsInHeaderOrder(message).map((r) => `${r.field}:${r.address}`)).toEqual([
      'to:to1@x.com',
      'to:shared@x.com',
      'cc:cc1@x.com',
      'bcc:bcc1@x.com',
    ]);
  });

  it('ADR-2: the first contact in header order wins, even when a later header lists it first', () => {
    const contacts = new Set(['bcc1@x.com', 'cc1@x.com']);
    expect(firstRecipientMatching(message, (address) => contacts.has(address))).toEqual({
      address: 'cc1@x.com',
      field: 'cc',
    });
    expect(firstRecipientMatching(message, () => false)).toBeUndefined();
  });
});
