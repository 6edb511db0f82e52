/** RFC 5322 / 2045 / 2047 / 2231 header helpers shared by the Gmail and Graph emulators. */

export interface Header {
  name: string;
  value: string;
}

export interface EmailAddress {
  name: string;
  address: string;
}

/** Splits a raw message into its header block and body (the blank line belongs to neither). */
export function splitMessage(raw: Buffer): { head: string; body: Buffer } {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  let end: number;
  let sep: number;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    end = crlf;
    sep = 4;
  } else if (lf !== -1) {
    end = lf;
    sep = 2;
  } else {
    // Only headers (or a body-less part that starts with a blank line).
    if (raw.length > 0 && (raw[0] === 0x0a || (raw[0] === 0x0d && raw[1] === 0x0a))) {
      return { head: '', body: raw.subarray(raw[0] === 0x0a ? 1 : 2) };
    }
    return { head: raw.toString('latin1'), body: Buffer.alloc(0) };
  }
  if (raw[0] === 0x0a || (raw[0] === 0x0d && raw[1] === 0x0a)) {
    return { head: '', body: raw.subarray(raw[0] === 0x0a ? 1 : 2) };
  }
  return { head: raw.subarray(0, end).toString('latin1'), body: raw.subarray(end + sep) };
}

/** Unfolds a header block into name/value pairs, keeping order and original case; values stay undecoded. */
export function parseHeaderBlock(head: string): Header[] {
  const headers: Header[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (line === '') continue;
    if (/^[ \t]/.test(line) && headers.length > 0) {
      // RFC 5322 unfolding; a value that starts on the next line (nodemailer folds a long Message-ID so) has no
      // leading space, as Gmail returns it.
      const last = headers[headers.length - 1];
      last.value = last.value ? `${last.value} ${line.trim()}` : line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return headers;
}

export function headerValue(headers: Header[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

/** Decodes a byte string (latin1-held) in the given charset, falling back to UTF-8 then latin1. */
export function decodeCharset(bytes: Buffer, charset = 'utf-8'): string {
  const label = charset.trim().toLowerCase() || 'utf-8';
  try {
    return new TextDecoder(label === 'us-ascii' || label === 'ascii' ? 'utf-8' : label).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** Decodes RFC 2047 encoded-words; whitespace between adjacent encoded-words is dropped as the RFC says. */
export function decodeEncodedWords(value: string): string {
  // Most header values are plain ASCII without an encoded-word: nothing below would change them (every parse of every
  // stored message's headers comes here, so the regular expressions showed in the sandbox's profile).
  // eslint-disable-next-line no-control-regex
  if (!value.includes('=?') && !/[^\x00-\x7f]/.test(value)) return value;
  const decoded = value.replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?[^?]+\?[bBqQ]\?[^?]*\?=)/g, '$1');
  const withWords = decoded.replace(
    /=\?([^?*]+)(?:\*[^?]*)?\?([bBqQ])\?([^?]*)\?=/g,
    (_m, charset: string, enc: string, text: string) => {
      const bytes =
        enc.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : Buffer.from(
              text
                .replace(/_/g, ' ')
                .replace(/=([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
              'latin1',
            );
      return decodeCharset(bytes, charset);
    },
  );
  // Raw 8-bit header bytes were read as latin1; reinterpret them as UTF-8 when they form valid UTF-8.
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(withWords)) {
    const bytes = Buffer.from(withWords, 'latin1');
    const utf8 = bytes.toString('utf8');
    if (!utf8.includes('\ufffd')) return utf8;
  }
  return withWords;
}

/** Encodes a header value as an RFC 2047 B encoded-word when it is not plain ASCII. */
export function encodeWord(value: string): string {
  return /^[\x20-\x7e]*$/.test(value)
    ? value
    : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

export interface ParsedParameterHeader {
  value: string;
  params: Record<string, string>;
}

/** Parses `type/subtype; a=b; c="d"` including RFC 2231 `name*=charset''pct` and `name*0*=` continuations. */
export function parseParameterHeader(input: string | undefined): ParsedParameterHeader {
  if (!input) return { value: '', params: {} };
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c === '"' && input[i - 1] !== '\\') quoted = !quoted;
    if (c === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  const value = (parts.shift() ?? '').trim().toLowerCase();
  const raw: Record<string, { value: string; extended: boolean }[]> = {};
  const plain: Record<string, string> = {};
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    let val = part.slice(eq + 1).trim();
    if (val.startsWith('"') && val.endsWith('"')) val = val.slice(1, -1).replace(/\\(.)/g, '$1');
    const m = /^([^*]+)\*(\d+)?(\*)?$/.exec(key);
    if (m) {
      const index = m[2] === undefined ? 0 : Number(m[2]);
      const extended = m[2] === undefined ? true : m[3] === '*';
      (raw[m[1]] ??= [])[index] = { value: val, extended };
    } else plain[key] = val;
  }
  const params: Record<string, string> = { ...plain };
  for (const [key, segments] of Object.entries(raw)) {
    let charset = 'utf-8';
    const bytes: number[] = [];
    segments.forEach((seg, i) => {
      if (!seg) return;
      let v = seg.value;
      if (seg.extended) {
        if (i === 0) {
          const m = /^([^']*)'[^']*'(.*)$/.exec(v);
          if (m) {
            charset = m[1] || 'utf-8';
            v = m[2];
          }
        }
        for (let j = 0; j < v.length; j++) {
          if (v[j] === '%' && /^[0-9A-Fa-f]{2}$/.test(v.slice(j + 1, j + 3))) {
            bytes.push(parseInt(v.slice(j + 1, j + 3), 16));
            j += 2;
          } else bytes.push(v.charCodeAt(j) & 0xff);
        }
      } else for (const b of Buffer.from(v, 'utf8')) bytes.push(b);
    });
    params[key] = decodeCharset(Buffer.from(bytes), charset);
  }
  for (const key of Object.keys(params)) params[key] = decodeEncodedWords(params[key]);
  return { value, params };
}

/** Parses an address list (`"Doe, Jane" <jane@x.test>, bob@y.test, group: a@b;`), decoding encoded-word names. */
export function parseAddressList(input: string | undefined): EmailAddress[] {
  if (!input) return [];
  const out: EmailAddress[] = [];
  const items: string[] = [];
  let current = '';
  let quoted = false;
  let angle = 0;
  let comment = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c === '\\' && quoted) {
      current += c + (input[++i] ?? '');
      continue;
    }
    if (c === '"' && comment === 0) quoted = !quoted;
    else if (!quoted && c === '(') comment++;
    else if (!quoted && c === ')' && comment > 0) comment--;
    else if (!quoted && comment === 0 && c === '<') angle++;
    else if (!quoted && comment === 0 && c === '>' && angle > 0) angle--;
    if (!quoted && angle === 0 && comment === 0 && (c === ',' || c === ';')) {
      items.push(current);
      current = '';
      continue;
    }
    if (!quoted && angle === 0 && comment === 0 && c === ':') {
      // A group name: drop it, keep its members.
      current = '';
      continue;
    }
    current += c;
  }
  items.push(current);
  for (const item of items) {
    const trimmed = item.trim();
    if (!trimmed) continue;
    const m = /^(.*)<([^>]*)>\s*(?:\(.*\))?$/.exec(trimmed);
    if (m) {
      const address = m[2].trim();
      if (!address) continue;
      out.push({ name: unquote(decodeEncodedWords(m[1].trim())), address });
    } else {
      const comment = /\(([^)]*)\)/.exec(trimmed);
      const address = trimmed.replace(/\([^)]*\)/g, '').trim();
      if (address.includes('@')) out.push({ name: comment ? decodeEncodedWords(comment[1]) : '', address });
    }
  }
  return out;
}

function unquote(s: string): string {
  return s.startsWith('"') && s.endsWith('"') && s.length >= 2 ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s;
}

export function formatAddress(a: EmailAddress): string {
  if (!a.name) return a.address;

  const name = /^[\x20-\x7e]*$/.test(a.name) ? `"${a.name.replace(/(["\\])/g, '\\$1')}"` : encodeWord(a.name);
  return `${name} <${a.address}>`;
}

/** The `<id>` tokens of a Message-ID / In-Reply-To / References value, brackets kept. */
export function parseMessageIds(value: string | undefined): string[] {
  if (!value) return [];
  const ids = value.match(/<[^<>\s]+>/g);
  if (ids) return ids;
  return value
    .split(/\s+/)
    .filter((v) => v.includes('@'))
    .map((v) => `<${v.replace(/^<|>$/g, '')}>`);
}

/**
 * Replaces (or adds, or removes with `undefined`) top-level headers of a raw message, leaving the rest byte-for-byte.
 * New headers are appended at the end of the header block.
 */
export function rewriteHeaders(raw: Buffer, changes: Record<string, string | undefined>): Buffer {
  const { head, body } = splitMessage(raw);
  const eol = raw.includes('\r\n') ? '\r\n' : '\n';
  const lines = head === '' ? [] : head.split(/\r?\n/);
  const pending = new Map(Object.entries(changes).map(([k, v]) => [k.toLowerCase(), { name: k, value: v }]));
  const out: string[] = [];
  let skipping = false;
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      if (!skipping) out.push(line);
      continue;
    }
    const name = line.slice(0, line.indexOf(':')).trim().toLowerCase();
    const change = pending.get(name);
    if (change) {
      skipping = true;
      if (change.value !== undefined) out.push(`${change.name}: ${change.value}`);
      pending.delete(name);
      // Drop later duplicates of the same header too.
      pending.set(name, { name: change.name, value: undefined });
    } else skipping = false;
    if (!change) out.push(line);
  }
  for (const [key, change] of pending) {
    if (change.value !== undefined && !lines.some((l) => l.toLowerCase().startsWith(`${key}:`))) {
      out.push(`${change.name}: ${change.value}`);
    }
  }
  return Buffer.concat([Buffer.from(out.join(eol) + eol + eol, 'latin1'), body]);
}
