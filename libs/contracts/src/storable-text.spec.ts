import fc from 'fast-check';
import { contactUpsertedV1 } from './events/contacts.events';
import { eventCatalog } from './catalog';
import { isStorableText, storableDeep, storableText } from './storable-text';

/** What PostgreSQL refuses in `text` (U+0000) and `jsonb` (also lone surrogates: JSON that is not valid UTF-8). */
const postgresRefuses = (text: string) =>
  text.includes('\u0000') || Buffer.from(text, 'utf8').toString('utf8') !== text;

/** JSON as `jsonb` sees it: the escapes JSON.stringify writes for NUL and lone surrogates are refused too. */
const jsonbRefuses = (json: string) => postgresRefuses(json) || /\\u0000|\\ud[89a-f]/i.test(json);

describe('storable text (loss path 1: text PostgreSQL can hold)', () => {
  it('replaces NUL and lone surrogates with U+FFFD, keeps pairs and everything else', () => {
    expect(storableText('hello\u0000')).toBe('hello\uFFFD');
    expect(storableText('a\uD800b')).toBe('a\uFFFDb');
    expect(storableText('a\uDC00b')).toBe('a\uFFFDb');
    expect(storableText('\uDC00\uD800')).toBe('\uFFFD\uFFFD');
    expect(storableText('end\uD83D')).toBe('end\uFFFD');
    expect(storableText('smile \uD83D\uDE00 ok')).toBe('smile \uD83D\uDE00 ok');
    expect(storableText('tab\tnew\nline \u0001 é 中')).toBe('tab\tnew\nline \u0001 é 中');
    expect(isStorableText('hello\u0000')).toBe(false);
    expect(isStorableText('smile \uD83D\uDE00')).toBe(true);
  });

  it('property: any UTF-16 string becomes storable, same length, idempotent; storable strings are untouched', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const out = storableText(text);
        expect(postgresRefuses(out)).toBe(false);
        expect(isStorableText(out)).toBe(true);
        expect(out).toHaveLength(text.length);
        expect(storableText(out)).toBe(out);
        expect(isStorableText(text)).toBe(!postgresRefuses(text));
        if (!postgresRefuses(text)) expect(out).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: storableDeep leaves no unstorable string (value or key) anywhere in a JSON-like value', () => {
    const text = fc.string({ unit: 'binary', maxLength: 20 });
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(text, tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        expect(jsonbRefuses(JSON.stringify(storableDeep(value)))).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('storableDeep returns the same object when nothing needs replacing, and copies only what changed', () => {
    const clean = { a: 'x', b: [1, 'y', { c: true }], d: new Date(0) };
    expect(storableDeep(clean)).toBe(clean);
    const dirty = { a: 'x\u0000', b: ['ok', 'y\uD800'], keep: { c: 'z' }, ['k\u0000']: 1 };
    const out = storableDeep(dirty);
    expect(out).toEqual({ a: 'x\uFFFD', b: ['ok', 'y\uFFFD'], keep: { c: 'z' }, ['k\uFFFD']: 1 });
    expect(out.keep).toBe(dirty.keep);
    expect(dirty.a).toBe('x\u0000');
  });

  it('loss path 1: every event is created with storable text, whatever its producer passed (the outbox insert cannot fail on content)', () => {
    const envelope = eventCatalog.create(contactUpsertedV1, {
      locationId: 'loc_a',
      contactId: 'ct_1',
      email: 'jo@example.com',
      name: 'Jo\u0000 \uD800',
      assignedUserId: 'usr_sam',
      createdAt: '2026-11-01T08:00:00.000Z',
      revision: 1,
    });
    expect(envelope.payload.name).toBe('Jo\uFFFD \uFFFD');
    expect(jsonbRefuses(eventCatalog.serialize(envelope))).toBe(false);
  });
});
