import {
  EXCLUSION_DOMAIN_PATTERN,
  decideSyncExclusion,
  messagePartiesFromHead,
  type ExclusionInput,
} from './sync-exclusion.rule';

const input = (over: Partial<ExclusionInput>): ExclusionInput => ({
  parties: ['sam@acme.example', 'jane@client.example'],
  ownerAddress: 'sam@acme.example',
  locationUserAddresses: ['sam@acme.example', 'kim@acme.example'],
  location: null,
  connection: null,
  ...over,
});

describe('SYN-8: decideSyncExclusion', () => {
  it('SYN-8: no lists, nothing excluded', () => {
    expect(decideSyncExclusion(input({}))).toBeNull();
  });

  it('SYN-8: an excluded address matches case-insensitively, in any header position', () => {
    const list = { addresses: ['Jane@Client.example'], domains: [] };
    expect(decideSyncExclusion(input({ location: list }))).toEqual({
      rule: 'SYN-8',
      scope: 'location',
      reason: 'address',
      matched: 'jane@client.example',
    });
    // Only in Cc, with a contact who is not excluded: still private.
    expect(
      decideSyncExclusion(
        input({
          parties: ['bob@other.example', 'sam@acme.example', 'JANE@client.example'],
          connection: list,
        }),
      ),
    ).toMatchObject({ scope: 'connection', reason: 'address' });
  });

  it('SYN-8: an excluded domain covers its subdomains, not look-alikes', () => {
    const list = { addresses: [], domains: ['bank.example'] };
    expect(decideSyncExclusion(input({ parties: ['x@bank.example'], connection: list }))).toMatchObject({
      reason: 'domain',
      matched: 'bank.example',
    });
    expect(decideSyncExclusion(input({ parties: ['x@mail.bank.example'], connection: list }))).toMatchObject({
      reason: 'domain',
    });
    expect(decideSyncExclusion(input({ parties: ['x@notbank.example'], connection: list }))).toBeNull();
    expect(decideSyncExclusion(input({ parties: ['x@bank.example.evil'], connection: list }))).toBeNull();
  });

  it("SYN-8: the owner's own address or domain on a list does not hide all of the owner's mail", () => {
    const list = { addresses: ['sam@acme.example'], domains: [] };
    expect(decideSyncExclusion(input({ location: list }))).toBeNull();
  });

  it('SYN-8: "mail between users of this location" excludes mail among colleagues only', () => {
    const location = { addresses: [], domains: [], betweenLocationUsers: true };
    expect(
      decideSyncExclusion(input({ parties: ['sam@acme.example', 'KIM@acme.example'], location })),
    ).toEqual({
      rule: 'SYN-8',
      scope: 'location',
      reason: 'between_location_users',
      matched: null,
    });
    // One outsider takes part: it syncs.
    expect(
      decideSyncExclusion(
        input({ parties: ['sam@acme.example', 'kim@acme.example', 'jane@client.example'], location }),
      ),
    ).toBeNull();
    // Switched off: colleagues' mail syncs as any other.
    expect(
      decideSyncExclusion(
        input({ parties: ['kim@acme.example'], location: { ...location, betweenLocationUsers: false } }),
      ),
    ).toBeNull();
  });

  it('SYN-8: the domain pattern the routes validate with', () => {
    for (const ok of ['bank.example', 'mail.bank.example', 'xn--bcher-kva.example', 'a-b.co'])
      expect(ok).toMatch(EXCLUSION_DOMAIN_PATTERN);
    for (const bad of [
      'bank',
      '-bank.example',
      'bank..example',
      'bank.example.',
      'ba nk.example',
      'a@b.example',
      '',
    ])
      expect(bad).not.toMatch(EXCLUSION_DOMAIN_PATTERN);
  });

  it('SYN-8: the parties are read from the top-level From, Sender, Reply-To, To, Cc, Bcc only (folded, lower case)', () => {
    const head = [
      'From: "Bank" <Alerts@Bank.example>',
      'To: sam@acme.example,',
      '  Kim <kim@acme.example>',
      'Cc: =?utf-8?q?J=C3=BCrgen?= <j@client.example>',
      'Reply-To: noreply@bank.example',
      'Subject: mention of other@elsewhere.example',
      'X-Original-To: hidden@elsewhere.example',
      '',
      'To: body@elsewhere.example',
    ].join('\r\n');
    expect(messagePartiesFromHead(head).sort()).toEqual(
      [
        'alerts@bank.example',
        'j@client.example',
        'kim@acme.example',
        'noreply@bank.example',
        'sam@acme.example',
      ].sort(),
    );
  });
});
