// A small, forgiving MIME walker for classification only: top-level headers and the parts of multipart bodies, as
// text. It never throws and stops at fixed limits, because its input is a stranger's bytes (and often only a prefix
// of them). Attachments are parsed for real by mime.parser.ts; this only looks at headers and report parts.

export interface MimeSection {
  /** Header name (lower case) → its values in order, unfolded. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** Lower-case type/subtype, `text/plain` when absent or unreadable. */
  readonly contentType: string;
  /** Parameters of Content-Type, names lower case, values unquoted. */
  readonly params: ReadonlyMap<string, string>;
  /** The body, transfer-decoded (base64, quoted-printable) for leaf parts. */
  readonly body: string;
  readonly parts: readonly MimeSection[];
}

const MAX_DEPTH = 6;
const MAX_PARTS = 100;
const MAX_HEADER_LINES = 2000;

/** Splits `text` at its first blank line into a header block and a body. */
function splitHead(text: string): { head: string; body: string } {
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return { head: text, body: '' };
  return { head: text.slice(0, match.index), body: text.slice(match.index + match[0].length) };
}

export function parseHeaderBlock(head: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  const lines = head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/, MAX_HEADER_LINES);
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
  }
  return headers;
}

function parseContentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (!value) return { type: 'text/plain', params };
  const [first, ...rest] = value.split(';');
  const type = first.trim().toLowerCase();
  for (const piece of rest) {
    const eq = piece.indexOf('=');
    if (eq <= 0) continue;
    const name = piece.slice(0, eq).trim().toLowerCase();
    const raw = piece.slice(eq + 1).trim();
    params.set(
      name,
      raw.startsWith('"') ? raw.slice(1, raw.indexOf('"', 1) > 0 ? raw.indexOf('"', 1) : undefined) : raw,
    );
  }
  return { type: /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(type) ? type : 'text/plain', params };
}

function decodeBody(body: string, encoding: string | undefined): string {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === 'base64') {
    try {
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('utf8');
    } catch {
      return body;
    }
  }
  if (enc === 'quoted-printable') {
    return body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return body;
}

function first(headers: ReadonlyMap<string, readonly string[]>, name: string): string | undefined {
  return headers.get(name)?.[0];
}

/** Parses one entity (a whole message or a part). `budget` counts parts across the whole walk. */
export function parseSection(text: string, depth = 0, budget = { parts: 0 }): MimeSection {
  const { head, body } = splitHead(text);
  const headers = parseHeaderBlock(head);
  const { type, params } = parseContentType(first(headers, 'content-type'));
  const boundary = params.get('boundary');
  const parts: MimeSection[] = [];
  if (type.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const delimiter = `--${boundary}`;
    const pieces = body.split(delimiter);
    // pieces[0] is the preamble; a piece starting with "--" is the epilogue after the close delimiter.
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith('--') || budget.parts >= MAX_PARTS) break;
      budget.parts += 1;
      parts.push(parseSection(piece.replace(/^[ \t]*\r?\n/, ''), depth + 1, budget));
    }
  } else if (type === 'message/rfc822' && depth < MAX_DEPTH) {
    budget.parts += 1;
    parts.push(parseSection(body, depth + 1, budget));
  }
  if (parts.length > 0) return { headers, contentType: type, params, body, parts };
  // A leaf's body is decoded on first read (issue 16): classification reads text and report parts only, and decoding
  // an attachment's base64 it never reads cost milliseconds per message.
  let decoded: string | undefined;
  return {
    headers,
    contentType: type,
    params,
    get body(): string {
      return (decoded ??= decodeBody(body, first(headers, 'content-transfer-encoding')));
    },
    parts,
  };
}

/** Every section below `root` (depth first, root excluded). */
export function descendants(root: MimeSection): MimeSection[] {
  const out: MimeSection[] = [];
  const walk = (s: MimeSection): void => {
    for (const p of s.parts) {
      out.push(p);
      walk(p);
    }
  };
  walk(root);
  return out;
}
