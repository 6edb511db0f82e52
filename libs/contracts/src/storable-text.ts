/**
 * How every string from outside (mail headers, bodies, display names, file names, provider ids, CRM input) becomes
 * text PostgreSQL can hold. `text` and `jsonb` reject U+0000, and `jsonb` rejects a lone UTF-16 surrogate (what a
 * truncated pair or a broken decoder leaves); one such character in one message used to fail its insert forever.
 *
 * The choice, made once here: each U+0000 and each lone surrogate becomes U+FFFD (the replacement character).
 * Replacing, not removing: the length of a string never changes (limits checked before stay true), and a reader
 * sees that something was there. The original bytes are never lost where they matter: the raw MIME stays byte-exact
 * in the object store.
 */
export const REPLACEMENT_CHARACTER = '\uFFFD';

// eslint-disable-next-line no-control-regex -- U+0000 is exactly what this matches
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const HAS_UNSTORABLE = new RegExp(UNSTORABLE.source);

/** True when PostgreSQL `text` and `jsonb` can hold the string as it is. */
export function isStorableText(text: string): boolean {
  return !HAS_UNSTORABLE.test(text);
}

/** The string with every U+0000 and lone surrogate replaced by U+FFFD; the same string when there is none. */
export function storableText(text: string): string {
  return isStorableText(text) ? text : text.replace(UNSTORABLE, REPLACEMENT_CHARACTER);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * `storableText` over every string (values and keys) of a JSON-like value: plain objects and arrays are copied where
 * something changed, anything else (numbers, dates, buffers) is returned as it is. Returns the same reference when
 * nothing needed replacing, so applying it to clean data costs one walk and no copies.
 */
export function storableDeep<T>(value: T): T {
  return deep(value, 0) as T;
}

const MAX_DEPTH = 1000;

function deep(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return storableText(value);
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const next = deep(item, depth + 1);
      if (next !== item) (copy ??= [...value])[i] = next;
    }
    return copy ?? value;
  }
  if (isPlainObject(value)) {
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const nextKey = storableText(key);
      const next = deep(item, depth + 1);
      if (nextKey === key && next === item) continue;
      copy ??= { ...value };
      if (nextKey !== key) delete copy[key];
      copy[nextKey] = next;
    }
    return copy ?? value;
  }
  return value;
}
