import fc from 'fast-check';
import { isForward } from './forward.util';
import {
  buildReferences,
  buildReplyHeaders,
  generateMessageId,
  normalizeMessageId,
  parseMessageId,
  parseMessageIds,
} from './message-id.util';
import { hasForwardPrefix, normalizeSubject, replySubject, subjectsMatch } from './subject.util';

describe('normalizeSubject', () => {
  it.each([
    ['Re: Hello', 'Hello'],
    ['RE: Fwd: AW: SV: Antw: Hello', 'Hello'],
    ['FW:   Quarterly   report ', 'Quarterly report'],
    ['Re[2]: Re(3): Hello', 'Hello'],
    ['WG: TR: RV: Enc: Hello', 'Hello'],
    ['回复：你好', '你好'],
    ['RE : Bonjour', 'Bonjour'],
    ['Reply needed', 'Reply needed'],
    ['Re:', ''],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalizeSubject(input)).toBe(expected);
  });

  it('does not strip words that only start like a prefix', () => {
    expect(normalizeSubject('Response: ok')).toBe('Response: ok');
    expect(normalizeSubject('Fwdx: y')).toBe('Fwdx: y');
  });

  it('is idempotent and compares case-insensitively', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const once = normalizeSubject(s);
        expect(normalizeSubject(once)).toBe(once);
      }),
    );
    expect(subjectsMatch('RE: Project PLAN', 'project plan')).toBe(true);
    expect(subjectsMatch('Re: plan A', 'plan B')).toBe(false);
  });

  it('builds reply subjects without stacking Re:', () => {
    expect(replySubject('Hello')).toBe('Re: Hello');
    expect(replySubject('RE: Hello')).toBe('RE: Hello');
    expect(replySubject('Fwd: Hello')).toBe('Re: Fwd: Hello');
    expect(replySubject('')).toBe('Re:');
  });
});

describe('Message-ID parsing', () => {
  it('extracts <...> tokens in order, tolerating junk, folding and duplicates', () => {
    expect(
      parseMessageIds(
        'junk <a@x.com> "In message <b@y.org> you wrote" (comment)\r\n <c@z\r\n .net> <a@x.com> <broken>',
      ),
    ).toEqual(['<a@x.com>', '<b@y.org>', '<c@z.net>']);
    expect(parseMessageIds(['<a@x>', '<b@y>'])).toEqual(['<a@x>', '<b@y>']);
    expect(parseMessageIds(undefined)).toEqual([]);
    expect(parseMessageIds('no ids here')).toEqual([]);
  });

  it('accepts bare ids from broken mailers when there are no brackets at all', () => {
    expect(parseMessageIds('a@x.com b@y.com')).toEqual(['<a@x.com>', '<b@y.com>']);
    expect(parseMessageId(' 123.abc@host ')).toBe('<123.abc@host>');
    expect(normalizeMessageId('<no-at-sign>')).toBeUndefined();
    expect(normalizeMessageId('')).toBeUndefined();
  });
});

describe('buildReferences (RFC 5322 §3.6.4)', () => {
  it("appends the parent's Message-ID to the parent's References", () => {
    expect(
      buildReferences({ messageId: '<p@x>', references: ['<r1@x>', '<r2@x>'], inReplyTo: '<r2@x>' }),
    ).toEqual(['<r1@x>', '<r2@x>', '<p@x>']);
  });

  it('falls back to a single In-Reply-To when the parent has no References, and omits what is missing', () => {
    expect(buildReferences({ messageId: '<p@x>', inReplyTo: '<g@x>' })).toEqual(['<g@x>', '<p@x>']);
    expect(buildReferences({ messageId: '<p@x>', inReplyTo: '<g1@x> <g2@x>' })).toEqual(['<p@x>']);
    expect(buildReferences({ messageId: '<p@x>' })).toEqual(['<p@x>']);
    expect(buildReferences({})).toEqual([]);
    expect(buildReplyHeaders({ references: ['<r@x>'] })).toEqual({ references: [] });
    expect(buildReplyHeaders({ messageId: 'p@x', references: ['<r@x>'] })).toEqual({
      inReplyTo: '<p@x>',
      references: ['<r@x>', '<p@x>'],
    });
  });

  it('trims long chains to the root plus the most recent ids', () => {
    const references = Array.from({ length: 80 }, (_, i) => `<m${i}@x>`);
    const result = buildReferences({ messageId: '<p@x>', references }, 10);
    expect(result).toHaveLength(10);
    expect(result[0]).toBe('<m0@x>');
    expect(result.slice(-2)).toEqual(['<m79@x>', '<p@x>']);
  });
});

describe('generateMessageId', () => {
  it('makes unique, RFC-valid ids in ASCII for the given domain', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => generateMessageId('Example.COM')));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      expect(id).toMatch(/^<[a-z0-9.]+@example\.com>$/);
      expect(normalizeMessageId(id)).toBe(id);
    }
    expect(generateMessageId('user@bücher.example')).toMatch(/@xn--bcher-kva\.example>$/);
    expect(() => generateMessageId('not a domain')).toThrow();
  });
});

describe('forward detection', () => {
  it('ADR-4: a forward is recognized by its subject prefix or a forwarded-message separator', () => {
    expect(isForward({ subject: 'Fwd: Offer' })).toBe(true);
    expect(isForward({ subject: 'FW: Offer' })).toBe(true);
    expect(isForward({ subject: 'WG: Angebot' })).toBe(true);
    expect(
      isForward({ subject: 'Offer', text: 'See below\n\n---------- Forwarded message ---------\nFrom: a' }),
    ).toBe(true);
    expect(isForward({ subject: 'Offer', text: 'Begin forwarded message:\n\nFrom: a' })).toBe(true);
    expect(isForward({ subject: 'Re: Fwd: Offer' })).toBe(false);
    expect(isForward({ subject: 'Offer', text: '-----Original Message-----\nFrom: a' })).toBe(false);
    expect(hasForwardPrefix('Forward planning')).toBe(false);
  });
});
