// OData/query compilation of the Graph emulator: path segments, `Prefer`, `$filter` and the list options.
import { graphErrors } from './graph-errors';
import type { GraphMessage } from './graph-mailbox';

export function parsePrefer(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(',')) {
    const m = /^\s*([^=\s]+)\s*(?:=\s*"?([^"]*)"?)?\s*$/.exec(part);
    if (m) out.set(m[1].toLowerCase(), m[2] ?? '');
  }
  return out;
}

/** Splits a Graph path into segments, turning `mailFolders('inbox')` into `mailFolders`, `inbox`. */
export function graphSegments(pathname: string): string[] {
  const out: string[] = [];
  for (const raw of pathname.split('/')) {
    if (!raw) continue;
    const seg = safe(raw);
    const m = /^([^()]+)\((?:'((?:[^']|'')*)'|([^)]*))\)$/.exec(seg);
    if (m) out.push(m[1], (m[2] ?? m[3] ?? '').replace(/''/g, "'"));
    else out.push(seg);
  }
  return out;
}

function safe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `$filter` subset: `prop eq 'v'`, `prop eq true`, `receivedDateTime ge 2024-01-01T00:00:00Z`, joined by `and`. */
export function compileFilter(filter: string | null): (m: GraphMessage) => boolean {
  if (!filter) return () => true;
  const clauses = filter.split(/\s+and\s+/i).map((clause) => {
    const m = /^\s*([\w/]+)\s+(eq|ne|ge|gt|le|lt)\s+(.+?)\s*$/i.exec(clause);
    if (!m) throw graphErrors.badRequest(`Invalid filter clause: ${clause}`);
    const [, prop, op, rawValue] = m;
    const value = rawValue.startsWith("'") ? rawValue.slice(1, -1).replace(/''/g, "'") : rawValue;
    const get = (msg: GraphMessage): string | number | boolean | undefined => {
      switch (prop.toLowerCase()) {
        case 'internetmessageid':
          return msg.internetMessageId;
        case 'conversationid':
          return msg.conversationId;
        case 'subject':
          return msg.subject;
        case 'isread':
          return msg.isRead;
        case 'isdraft':
          return msg.isDraft;
        case 'hasattachments':
          return msg.attachments.some((a) => !a.isInline);
        case 'from/emailaddress/address':
          return msg.from?.emailAddress.address.toLowerCase();
        case 'receiveddatetime':
          return msg.receivedDateTime;
        case 'sentdatetime':
          return msg.sentDateTime;
        default:
          throw graphErrors.badRequest(
            `Could not find a property named '${prop}' on type 'microsoft.graph.message'.`,
          );
      }
    };
    const expected: string | number | boolean =
      value === 'true'
        ? true
        : value === 'false'
          ? false
          : /^\d{4}-\d{2}-\d{2}T/.test(value)
            ? Date.parse(value)
            : value;
    return (msg: GraphMessage) => {
      let actual = get(msg);
      if (
        typeof actual === 'string' &&
        typeof expected === 'string' &&
        prop.toLowerCase().includes('address')
      )
        actual = actual.toLowerCase();
      const e =
        typeof expected === 'string' && prop.toLowerCase().includes('address')
          ? expected.toLowerCase()
          : expected;
      if (actual === undefined) return false;
      switch (op.toLowerCase()) {
        case 'eq':
          return actual === e;
        case 'ne':
          return actual !== e;
        case 'ge':
          return actual >= e;
        case 'gt':
          return actual > e;
        case 'le':
          return actual <= e;
        default:
          return actual < e;
      }
    };
  });
  return (m) => clauses.every((c) => c(m));
}

export interface ListQuery {
  filter: (m: GraphMessage) => boolean;
  top: number;
  skip: number;
  orderAsc: boolean;
}

/** `$filter`, `$top` (1..1000, default 10), `$skip` and `$orderby=receivedDateTime asc|desc` of a message list. */
export function compileListQuery(q: URLSearchParams): ListQuery {
  return {
    filter: compileFilter(q.get('$filter')),
    top: Math.min(1000, Math.max(1, Number(q.get('$top') ?? 10) || 10)),
    skip: Math.max(0, Number(q.get('$skip') ?? 0) || 0),
    orderAsc: /receivedDateTime\s+asc/i.test(q.get('$orderby') ?? ''),
  };
}
