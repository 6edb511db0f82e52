import { randomUUID } from 'node:crypto';
import type { Clock } from '../shared/clock';
import type { FaultInjector } from '../shared/faults';
import { BodyTooLargeError, HttpError, type RequestContext, Router } from '../shared/http-kit';
import type { IdFactory } from '../shared/id-factory';
import type { MicrosoftAccounts, MsAccessToken } from '../microsoft/microsoft-accounts';
import { type DeltaState, decodeDeltaToken, deltaItems, encodeDeltaToken } from './graph-delta';
import { graphError, graphErrors } from './graph-errors';
import { attachmentJson, graphDate, messageJson, parseSelect } from './graph-json';
import type { FolderName, GraphMailbox, GraphMessage } from './graph-mailbox';
import type { GraphMessageInput, GraphService, ReplyKind } from './graph-service';
import type { GraphSubscription, GraphSubscriptions } from './graph-subscriptions';
import type { GraphThrottle } from './graph-throttle';

export interface GraphRoutesContext {
  service: GraphService;
  accounts: MicrosoftAccounts;
  subscriptions: GraphSubscriptions;
  throttle: GraphThrottle;
  faults: FaultInjector;
  clock: Clock;
  ids: IdFactory;
  baseUrl: () => string;
  latencyMs: () => number;
}

const JSON_LIMIT = 4 * 1024 * 1024;
const UPLOAD_SESSION_LIMIT = 150 * 1024 * 1024;
const ODATA_JSON =
  'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8';

const READ = ['Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'];
const READ_FULL = ['Mail.Read', 'Mail.ReadWrite'];
const WRITE = ['Mail.ReadWrite'];
const SEND = ['Mail.Send'];
const USER = ['User.Read', 'User.ReadBasic.All', 'User.Read.All', 'Mail.Read', 'Mail.ReadWrite', 'Mail.Send'];

interface Call {
  ctx: RequestContext;
  mailbox: GraphMailbox;
  token: MsAccessToken;
  prefer: Map<string, string>;
  immutable: boolean;
  /** `me` or `users/{id}`, used to build links the way the caller addressed the mailbox. */
  userPath: string;
}

interface UploadSession {
  mailbox: string;
  messageId: string;
  name: string;
  size: number;
  contentType: string;
  isInline: boolean;
  contentId?: string;
  chunks: Buffer[];
  received: number;
  expiresAt: number;
}

function parsePrefer(header: string | undefined): Map<string, string> {
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
function compileFilter(filter: string | null): (m: GraphMessage) => boolean {
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

/** Microsoft Graph v1.0 mail endpoints plus subscriptions and attachment upload sessions. */
export function graphRoutes(c: GraphRoutesContext): (ctx: RequestContext) => Promise<void> {
  const user = new Router<Call>();
  const uploads = new Map<string, UploadSession>();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const authenticate = (ctx: RequestContext): { token: MsAccessToken; mailbox: GraphMailbox } => {
    const bearer = /^Bearer\s+(.+)$/i.exec(ctx.header('authorization') ?? '')?.[1];
    if (!bearer) throw graphErrors.unauthenticated('Access token is empty.');
    const token = c.accounts.authenticate(bearer);
    if (token === 'expired') throw graphErrors.expired();
    if (token === 'invalid')
      throw graphErrors.unauthenticated(
        'IDX14100: JWT is not well formed, or the token is unknown to this tenant.',
      );
    const mailbox = c.service.byOid(token.oid);
    if (!mailbox)
      throw graphError(
        404,
        'MailboxNotEnabledForRESTAPI',
        'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
      );
    return { token, mailbox };
  };

  /** Faults, throttling, artificial latency: everything that happens before a handler runs. */
  const admit = async (ctx: RequestContext, mailbox: GraphMailbox): Promise<void> => {
    const fault = c.faults.take({ method: ctx.method, path: ctx.path, mailbox: mailbox.address });
    if (fault) throw graphErrors.injected(fault.status, fault.retryAfterSeconds);
    const slot = c.throttle.enter(mailbox.address);
    if (!slot.ok) throw slot.error;
    ctx.res.once('close', slot.release);
    const latency = c.latencyMs();
    if (latency > 0) await sleep(latency);
  };

  const need = (token: MsAccessToken, scopes: string[]) => {
    if (!token.scopes.some((s) => scopes.includes(s))) throw graphErrors.accessDenied();
  };

  const json = (ctx: RequestContext, body: unknown, status = 200, headers: Record<string, string> = {}) =>
    ctx.send(status, JSON.stringify(body), { 'content-type': ODATA_JSON, ...headers });

  const readJson = async <T>(ctx: RequestContext): Promise<T> => {
    try {
      return ((await ctx.json<T>(JSON_LIMIT)) ?? ({} as T)) as T;
    } catch (e) {
      if (e instanceof BodyTooLargeError) throw graphErrors.tooLarge();
      throw graphErrors.badRequest(
        'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
      );
    }
  };

  const readMime = async (ctx: RequestContext): Promise<Buffer> => {
    let text: string;
    try {
      text = (await ctx.text(JSON_LIMIT)).trim();
    } catch (e) {
      if (e instanceof BodyTooLargeError) throw graphErrors.tooLarge();
      throw e;
    }
    if (!text || !/^[A-Za-z0-9+/\r\n]+=*$/.test(text)) {
      throw graphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
    }
    return Buffer.from(text, 'base64');
  };

  const base = () => `${c.baseUrl()}/v1.0`;
  const message = (call: Call, id: string): GraphMessage => {
    const m = call.mailbox.byId(id);
    if (!m) throw graphErrors.notFound();
    return m;
  };
  const folderOf = (call: Call, id: string): FolderName => {
    const f = call.mailbox.folder(id);
    if (!f) throw graphErrors.notFound();
    return f.name;
  };
  const messageOptions = (call: Call, select?: string[]) => {
    const bodyPref = call.prefer.get('outlook.body-content-type')?.toLowerCase();
    return {
      immutable: call.immutable,
      select,
      bodyType: bodyPref === 'text' || bodyPref === 'html' ? (bodyPref as 'text' | 'html') : undefined,
      expandAttachments: (call.ctx.query.get('$expand') ?? '').toLowerCase().includes('attachments'),
      webBase: 'https://outlook.office365.com',
    };
  };
  const preferenceApplied = (call: Call): Record<string, string> => {
    const applied: string[] = [];
    if (call.immutable) applied.push('IdType="ImmutableId"');
    const b = call.prefer.get('outlook.body-content-type');
    if (b) applied.push(`outlook.body-content-type="${b}"`);
    return applied.length > 0 ? { 'preference-applied': applied.join(',') } : {};
  };
  const messageResponse = (call: Call, m: GraphMessage, status = 200) => {
    json(
      call.ctx,
      {
        '@odata.context': `${base()}/$metadata#users('${call.mailbox.oid}')/messages/$entity`,
        ...messageJson(m, call.mailbox, messageOptions(call, parseSelect(call.ctx.query.get('$select')))),
      },
      status,
      preferenceApplied(call),
    );
  };

  const listMessages = (call: Call, folder?: FolderName) => {
    const q = call.ctx.query;
    const select = parseSelect(q.get('$select'));
    const filter = compileFilter(q.get('$filter'));
    const top = Math.min(1000, Math.max(1, Number(q.get('$top') ?? 10) || 10));
    const skip = Math.max(0, Number(q.get('$skip') ?? 0) || 0);
    const orderAsc = /receivedDateTime\s+asc/i.test(q.get('$orderby') ?? '');
    const all = [...call.mailbox.messages.values()]
      .filter((m) => (folder ? m.folder === folder : true))
      .filter(filter)
      .sort((a, b) =>
        orderAsc
          ? a.receivedDateTime - b.receivedDateTime || a.seq - b.seq
          : b.receivedDateTime - a.receivedDateTime || b.seq - a.seq,
      );
    const page = all.slice(skip, skip + top);
    const body: Record<string, unknown> = {
      '@odata.context': `${base()}/$metadata#users('${call.mailbox.oid}')/messages`,
      value: page.map((m) => messageJson(m, call.mailbox, messageOptions(call, select))),
    };
    if (skip + top < all.length) {
      const next = new URL(`${base()}${call.ctx.path.replace(/^\/(v1\.0|beta)/, '')}`);
      q.forEach((v, k) => k !== '$skip' && next.searchParams.set(k, v));
      next.searchParams.set('$skip', String(skip + top));
      body['@odata.nextLink'] = next.toString();
    }
    json(call.ctx, body, 200, preferenceApplied(call));
  };

  const delta = (call: Call, folder: FolderName) => {
    const q = call.ctx.query;
    const tokenText = q.get('$deltatoken') ?? q.get('$skiptoken');
    const epoch = call.mailbox.deltaEpoch.get(folder) ?? 0;
    let state: DeltaState;
    const linkBase = `${base()}/${call.userPath}/mailFolders('${folder}')/messages/delta`;
    if (tokenText) {
      const decoded = decodeDeltaToken(tokenText);
      if (!decoded || decoded.m !== call.mailbox.oid || decoded.f !== folder) {
        throw graphErrors.badRequest('The delta token is invalid for this resource.');
      }
      if (decoded.e !== epoch) {
        throw graphError(
          410,
          'syncStateNotFound',
          'The sync state generation was not found. Please re-sync.',
          { location: linkBase },
        );
      }
      state = q.get('$deltatoken') ? { ...decoded, s: decoded.s, t: call.mailbox.currentSeq, o: 0 } : decoded;
    } else {
      const pageSize = Number(call.prefer.get('odata.maxpagesize') ?? q.get('$top') ?? 10) || 10;
      state = {
        m: call.mailbox.oid,
        f: folder,
        s: -1,
        t: call.mailbox.currentSeq,
        o: 0,
        e: epoch,
        sel: q.get('$select') ?? undefined,
        ps: Math.min(1000, pageSize),
      };
    }
    const select = parseSelect(state.sel);
    const items = deltaItems(call.mailbox, state);
    const page = items.slice(state.o, state.o + state.ps);
    const body: Record<string, unknown> = {
      '@odata.context': `${base()}/$metadata#Collection(message)`,
      value: page.map((item) =>
        item.kind === 'message'
          ? messageJson(item.message, call.mailbox, messageOptions(call, select))
          : {
              '@odata.type': '#microsoft.graph.message',
              id: call.immutable ? item.immutableId : item.restId,
              '@removed': { reason: 'deleted' },
            },
      ),
    };
    if (state.o + state.ps < items.length) {
      body['@odata.nextLink'] =
        `${linkBase}?$skiptoken=${encodeDeltaToken({ ...state, o: state.o + state.ps })}`;
    } else {
      body['@odata.deltaLink'] =
        `${linkBase}?$deltatoken=${encodeDeltaToken({ ...state, s: state.t, o: 0 })}`;
    }
    json(call.ctx, body, 200, preferenceApplied(call));
  };

  // ---- user-scoped routes (after /me or /users/{id}) ----
  user.add('GET', '/messages', (call) => (need(call.token, READ), listMessages(call)));
  user.add('POST', '/messages', async (call) => {
    need(call.token, WRITE);
    messageResponse(
      call,
      c.service.createDraft(call.mailbox, await readJson<GraphMessageInput>(call.ctx)),
      201,
    );
  });
  user.add('GET', '/messages/delta', () => {
    throw graphErrors.badRequest(
      "Change tracking is not supported against 'microsoft.graph.message' for the whole mailbox; use mailFolders/{id}/messages/delta.",
    );
  });
  user.add(
    'GET',
    '/messages/:id',
    (call) => (need(call.token, READ), messageResponse(call, message(call, call.ctx.params.id))),
  );
  user.add('PATCH', '/messages/:id', async (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    call.mailbox.modifyCalls++;
    c.service.update(call.mailbox, m, await readJson<GraphMessageInput>(call.ctx));
    messageResponse(call, m);
  });
  user.add('DELETE', '/messages/:id', (call) => {
    need(call.token, WRITE);
    call.mailbox.remove(message(call, call.ctx.params.id));
    call.ctx.send(204);
  });
  user.add('GET', '/messages/:id/$value', async (call) => {
    need(call.token, READ_FULL);
    const m = message(call, call.ctx.params.id);
    const raw = m.raw ?? (await c.service.toMime(call.mailbox, m));
    call.ctx.send(200, raw, { 'content-type': 'text/plain' });
  });
  user.add('POST', '/messages/:id/send', async (call) => {
    need(call.token, SEND);
    await c.service.sendDraft(call.mailbox, message(call, call.ctx.params.id));
    call.ctx.send(202);
  });
  for (const kind of ['createReply', 'createReplyAll', 'createForward'] as const) {
    user.add('POST', `/messages/:id/${kind}`, async (call) => {
      need(call.token, WRITE);
      const original = message(call, call.ctx.params.id);
      const input = await readJson<{
        comment?: string;
        message?: GraphMessageInput;
        toRecipients?: GraphMessageInput['toRecipients'];
      }>(call.ctx);
      const map: Record<string, ReplyKind> = {
        createReply: 'reply',
        createReplyAll: 'replyAll',
        createForward: 'forward',
      };
      messageResponse(call, c.service.createReply(call.mailbox, original, map[kind], input), 201);
    });
  }
  for (const kind of ['reply', 'replyAll', 'forward'] as const) {
    user.add('POST', `/messages/:id/${kind}`, async (call) => {
      need(call.token, SEND);
      const original = message(call, call.ctx.params.id);
      const input = await readJson<{
        comment?: string;
        message?: GraphMessageInput;
        toRecipients?: GraphMessageInput['toRecipients'];
      }>(call.ctx);
      if (kind === 'forward' && !input.toRecipients && !input.message?.toRecipients) {
        throw graphError(
          400,
          'ErrorInvalidRecipients',
          "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
        );
      }
      const draft = c.service.createReply(call.mailbox, original, kind, input);
      await c.service.sendDraft(call.mailbox, draft);
      call.ctx.send(202);
    });
  }
  user.add('POST', '/messages/:id/move', async (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    const body = await readJson<{ destinationId?: string }>(call.ctx);
    call.mailbox.move(m, folderOf(call, body.destinationId ?? ''));
    messageResponse(call, m, 201);
  });
  user.add('GET', '/messages/:id/attachments', (call) => {
    need(call.token, READ_FULL);
    const m = message(call, call.ctx.params.id);
    json(call.ctx, {
      '@odata.context': `${base()}/$metadata#users('${call.mailbox.oid}')/messages('${m.restId}')/attachments`,
      value: m.attachments.map((a) => attachmentJson(a, true)),
    });
  });
  user.add('POST', '/messages/:id/attachments', async (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    if (!m.isDraft)
      throw graphError(400, 'ErrorInvalidOperation', 'Attachments can only be added to draft messages.');
    const input = await readJson<{
      name?: string;
      contentType?: string;
      contentBytes?: string;
      isInline?: boolean;
      contentId?: string;
    }>(call.ctx);
    const content = Buffer.from(input.contentBytes ?? '', 'base64');
    if (content.length > 3 * 1024 * 1024) {
      throw graphError(
        413,
        'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
        'The attachment is larger than 3 MB; use attachments/createUploadSession.',
      );
    }
    const att = c.service.newAttachment(
      input.name ?? 'attachment',
      input.contentType ?? 'application/octet-stream',
      content,
      !!input.isInline,
      input.contentId,
    );
    m.attachments.push(att);
    call.mailbox.touch(m);
    json(
      call.ctx,
      {
        '@odata.context': `${base()}/$metadata#users('${call.mailbox.oid}')/messages('${m.restId}')/attachments/$entity`,
        ...attachmentJson(att, true),
      },
      201,
    );
  });
  user.add('POST', '/messages/:id/attachments/createUploadSession', async (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    if (!m.isDraft)
      throw graphError(
        400,
        'ErrorInvalidOperation',
        'Upload sessions can only be created for draft messages.',
      );
    const body = await readJson<{
      AttachmentItem?: {
        attachmentType?: string;
        name?: string;
        size?: number;
        contentType?: string;
        isInline?: boolean;
        contentId?: string;
      };
    }>(call.ctx);
    const item = body.AttachmentItem;
    if (!item || item.attachmentType !== 'file' || !item.name || !item.size) {
      throw graphErrors.invalidRequest(
        'AttachmentItem with attachmentType "file", name and size is required.',
      );
    }
    if (item.size > UPLOAD_SESSION_LIMIT)
      throw graphError(400, 'ErrorAttachmentSizeExceeded', 'The attachment exceeds the 150 MB limit.');
    const sessionId = c.ids.base64url(36);
    const expiresAt = c.clock.now() + 6 * 3600_000;
    uploads.set(sessionId, {
      mailbox: call.mailbox.address,
      messageId: m.immutableId,
      name: item.name,
      size: item.size,
      contentType: item.contentType ?? 'application/octet-stream',
      isInline: !!item.isInline,
      contentId: item.contentId,
      chunks: [],
      received: 0,
      expiresAt,
    });
    const uploadUrl = `${c.baseUrl()}/api/v2.0/Users('${call.mailbox.oid}@${call.mailbox.tenantId}')/Messages('${m.immutableId}')/AttachmentSessions('${sessionId}')?authtoken=${c.ids.base64url(120)}`;
    json(
      call.ctx,
      {
        '@odata.context': `${base()}/$metadata#microsoft.graph.uploadSession`,
        uploadUrl,
        expirationDateTime: graphDate(expiresAt),
        nextExpectedRanges: ['0-'],
      },
      201,
    );
  });
  user.add('GET', '/messages/:id/attachments/:attId', (call) => {
    need(call.token, READ_FULL);
    const a = message(call, call.ctx.params.id).attachments.find((x) => x.id === call.ctx.params.attId);
    if (!a) throw graphErrors.notFound();
    json(call.ctx, attachmentJson(a, true));
  });
  user.add('GET', '/messages/:id/attachments/:attId/$value', (call) => {
    need(call.token, READ_FULL);
    const a = message(call, call.ctx.params.id).attachments.find((x) => x.id === call.ctx.params.attId);
    if (!a) throw graphErrors.notFound();
    call.ctx.send(200, a.content, { 'content-type': a.contentType });
  });
  user.add('DELETE', '/messages/:id/attachments/:attId', (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    m.attachments = m.attachments.filter((x) => x.id !== call.ctx.params.attId);
    call.mailbox.touch(m);
    call.ctx.send(204);
  });
  user.add('POST', '/sendMail', async (call) => {
    need(call.token, SEND);
    if (call.ctx.contentType === 'text/plain') {
      await c.service.sendMime(call.mailbox, await readMime(call.ctx), true);
    } else {
      const body = await readJson<{ message?: GraphMessageInput; saveToSentItems?: boolean | string }>(
        call.ctx,
      );
      if (!body.message)
        throw graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Message' is empty.");
      await c.service.sendMail(
        call.mailbox,
        body.message,
        body.saveToSentItems !== false && body.saveToSentItems !== 'false',
      );
    }
    call.ctx.send(202);
  });
  user.add('GET', '/mailFolders', (call) => {
    need(call.token, READ);
    json(call.ctx, {
      '@odata.context': `${base()}/$metadata#users('${call.mailbox.oid}')/mailFolders`,
      value: call.mailbox.folders.map((f) => folderJson(call.mailbox, f.name)),
    });
  });
  user.add('GET', '/mailFolders/:folder', (call) => {
    need(call.token, READ);
    json(call.ctx, folderJson(call.mailbox, folderOf(call, call.ctx.params.folder)));
  });
  user.add(
    'GET',
    '/mailFolders/:folder/messages',
    (call) => (need(call.token, READ), listMessages(call, folderOf(call, call.ctx.params.folder))),
  );
  user.add(
    'GET',
    '/mailFolders/:folder/messages/delta',
    (call) => (need(call.token, READ), delta(call, folderOf(call, call.ctx.params.folder))),
  );
  user.add('GET', '/mailFolders/:folder/messages/:id', (call) => {
    need(call.token, READ);
    const m = message(call, call.ctx.params.id);
    if (m.folder !== folderOf(call, call.ctx.params.folder)) throw graphErrors.notFound();
    messageResponse(call, m);
  });
  user.add('POST', '/revokeSignInSessions', (call) => {
    c.accounts.revokeSessions(call.mailbox.address);
    json(call.ctx, { '@odata.context': `${base()}/$metadata#Edm.Boolean`, value: true });
  });

  const folderJson = (mailbox: GraphMailbox, name: FolderName) => {
    const f = mailbox.folders.find((x) => x.name === name);
    const messages = mailbox.inFolder(name);
    return {
      id: f?.id,
      displayName: f?.displayName,
      parentFolderId: mailbox.folders[0].id.replace(/AAA=$/, 'AAE='),
      childFolderCount: 0,
      unreadItemCount: messages.filter((m) => !m.isRead).length,
      totalItemCount: messages.length,
      sizeInBytes: messages.reduce((s, m) => s + (m.raw?.length ?? 0), 0),
      isHidden: false,
    };
  };

  const subscriptionJson = (s: GraphSubscription) => ({
    id: s.id,
    resource: s.resource,
    applicationId: s.applicationId,
    changeType: s.changeTypes.join(','),
    clientState: s.clientState ?? null,
    notificationUrl: s.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl ?? null,
    expirationDateTime: new Date(s.expiration).toISOString(),
    creatorId: s.creatorId,
    includeResourceData: false,
    latestSupportedTlsVersion: s.latestSupportedTlsVersion,
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  });

  const subscription = (id: string, mailbox: GraphMailbox): GraphSubscription => {
    const s = c.subscriptions.get(id);
    if (!s || s.mailbox !== mailbox.address) {
      throw graphError(
        404,
        'ResourceNotFound',
        `The object was not found. Subscription '${id}' does not exist or belongs to another user.`,
      );
    }
    return s;
  };

  const handleSubscriptions = async (ctx: RequestContext, segs: string[]): Promise<void> => {
    const { token, mailbox } = authenticate(ctx);
    await admit(ctx, mailbox);
    need(token, READ);
    const prefer = parsePrefer(ctx.header('prefer'));
    const id = segs[1];
    if (segs.length === 1 && ctx.method === 'POST') {
      const body = await readJson<Record<string, unknown>>(ctx);
      const immutable = prefer.get('idtype')?.toLowerCase() === 'immutableid';
      const sub = await c.subscriptions.create(mailbox, token.clientId, body, immutable);
      json(
        ctx,
        { '@odata.context': `${base()}/$metadata#subscriptions/$entity`, ...subscriptionJson(sub) },
        201,
      );
    } else if (segs.length === 1 && ctx.method === 'GET') {
      json(ctx, {
        '@odata.context': `${base()}/$metadata#subscriptions`,
        value: c.subscriptions
          .list()
          .filter((s) => s.mailbox === mailbox.address)
          .map(subscriptionJson),
      });
    } else if (segs.length === 2 && ctx.method === 'GET') {
      json(ctx, {
        '@odata.context': `${base()}/$metadata#subscriptions/$entity`,
        ...subscriptionJson(subscription(id, mailbox)),
      });
    } else if (segs.length === 2 && ctx.method === 'PATCH') {
      const body = await readJson<{ expirationDateTime?: string }>(ctx);
      const sub = c.subscriptions.renew(subscription(id, mailbox), body.expirationDateTime);
      json(ctx, { '@odata.context': `${base()}/$metadata#subscriptions/$entity`, ...subscriptionJson(sub) });
    } else if (segs.length === 2 && ctx.method === 'DELETE') {
      subscription(id, mailbox);
      c.subscriptions.delete(id);
      ctx.send(204);
    } else if (segs.length === 3 && segs[2] === 'reauthorize' && ctx.method === 'POST') {
      c.subscriptions.reauthorize(subscription(id, mailbox));
      ctx.send(204);
    } else {
      throw graphError(405, 'Request_BadRequest', `Unsupported ${ctx.method} on /subscriptions.`);
    }
  };

  /** Pre-authenticated upload URL: no Authorization needed (and any sent is ignored). */
  const handleUpload = async (ctx: RequestContext, sessionId: string): Promise<void> => {
    const session = uploads.get(sessionId);
    if (!session || session.expiresAt < c.clock.now())
      throw graphError(404, 'ErrorItemNotFound', 'The upload session was not found or has expired.');
    if (ctx.method === 'DELETE') {
      uploads.delete(sessionId);
      ctx.send(204);
      return;
    }
    if (ctx.method !== 'PUT')
      throw graphError(405, 'ErrorInvalidRequest', 'Upload sessions accept PUT and DELETE.');
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(ctx.header('content-range') ?? '');
    const chunk = await ctx.body(UPLOAD_SESSION_LIMIT);
    if (!range)
      throw graphErrors.invalidRequest('Content-Range header is required: bytes {start}-{end}/{total}.');
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (start !== session.received || end - start + 1 !== chunk.length || total !== session.size) {
      throw graphError(
        416,
        'ErrorInvalidRange',
        `The uploaded range does not match the next expected range ${session.received}-.`,
      );
    }
    session.chunks.push(chunk);
    session.received += chunk.length;
    if (session.received < session.size) {
      json(ctx, {
        expirationDateTime: graphDate(session.expiresAt),
        nextExpectedRanges: [String(session.received)],
      });
      return;
    }
    uploads.delete(sessionId);
    const mailbox = c.service.get(session.mailbox);
    const m = mailbox?.byId(session.messageId);
    if (!mailbox || !m) throw graphErrors.notFound();
    const att = c.service.newAttachment(
      session.name,
      session.contentType,
      Buffer.concat(session.chunks),
      session.isInline,
      session.contentId,
    );
    m.attachments.push(att);
    mailbox.touch(m);
    ctx.send(201, undefined, {
      location: `${c.baseUrl()}/api/v2.0/Users('${mailbox.oid}@${mailbox.tenantId}')/Messages('${m.immutableId}')/Attachments('${att.id}')`,
    });
  };

  return async (ctx: RequestContext): Promise<void> => {
    const segs = graphSegments(ctx.path);
    if (segs[0] === 'api' && segs[1] === 'v2.0') {
      const i = segs.indexOf('AttachmentSessions');
      if (i !== -1 && segs[i + 1]) return handleUpload(ctx, segs[i + 1]);
      throw graphErrors.notFound();
    }
    if (segs[0] !== 'v1.0' && segs[0] !== 'beta') {
      throw graphError(400, 'BadRequest', `Invalid version: ${segs[0] ?? ''}`);
    }
    const rest = segs.slice(1);
    if (rest[0]?.toLowerCase() === 'subscriptions') return handleSubscriptions(ctx, rest);
    let userPath: string;
    let remaining: string[];
    const { token, mailbox } = authenticate(ctx);
    if (rest[0] === 'me') {
      userPath = 'me';
      remaining = rest.slice(1);
    } else if (rest[0]?.toLowerCase() === 'users' && rest[1]) {
      const id = rest[1];
      if (id.toLowerCase() !== mailbox.address.toLowerCase() && id !== mailbox.oid)
        throw graphErrors.accessDenied();
      userPath = `users/${id}`;
      remaining = rest.slice(2);
    } else {
      throw graphError(400, 'BadRequest', `Resource not found for the segment '${rest[0] ?? ''}'.`);
    }
    await admit(ctx, mailbox);
    const prefer = parsePrefer(ctx.header('prefer'));
    const call: Call = {
      ctx,
      mailbox,
      token,
      prefer,
      immutable: prefer.get('idtype')?.toLowerCase() === 'immutableid',
      userPath,
    };
    if (remaining.length === 0) {
      if (ctx.method !== 'GET') throw graphError(405, 'Request_BadRequest', 'Unsupported method.');
      need(token, USER);
      const account = c.accounts.accountByOid(mailbox.oid);
      const user: Record<string, unknown> = {
        businessPhones: [],
        displayName: mailbox.displayName,
        givenName: account?.givenName ?? null,
        jobTitle: null,
        mail: mailbox.address,
        mobilePhone: null,
        officeLocation: null,
        preferredLanguage: 'en-US',
        surname: account?.surname ?? null,
        userPrincipalName: mailbox.address,
        id: mailbox.oid,
      };
      // Non-default properties (proxyAddresses, SND-7) only with $select, which also limits the answer to them.
      const select = (ctx.query.get('$select') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (select.length === 0) {
        json(ctx, { '@odata.context': `${base()}/$metadata#users/$entity`, ...user });
        return;
      }
      const all: Record<string, unknown> = { ...user, proxyAddresses: mailbox.proxyAddresses() };
      json(ctx, {
        '@odata.context': `${base()}/$metadata#users(${select.join(',')})/$entity`,
        ...Object.fromEntries(select.filter((k) => k in all).map((k) => [k, all[k]])),
      });
      return;
    }
    // MIME draft creation arrives as text/plain.
    if (
      ctx.method === 'POST' &&
      remaining.length === 1 &&
      remaining[0] === 'messages' &&
      ctx.contentType === 'text/plain'
    ) {
      need(token, WRITE);
      const draft = c.service.store(mailbox, await readMime(ctx), 'drafts');
      draft.isDraft = true;
      draft.raw = undefined;
      messageResponse(call, draft, 201);
      return;
    }
    const route = user.match(ctx.method, `/${remaining.join('/')}`);
    if (route === 'method')
      throw graphError(
        405,
        'Request_BadRequest',
        `The ${ctx.method} method is not supported for this resource.`,
      );
    if (!route)
      throw graphError(
        400,
        'BadRequest',
        `Resource not found for the segment '${remaining[remaining.length - 1]}'.`,
      );
    ctx.params = route.params;
    await route.handler(call);
  };
}

export function graphErrorMapper(clock: Clock) {
  return (ctx: RequestContext, error: unknown): void => {
    const requestId = (ctx.res.getHeader('request-id') as string | undefined) ?? randomUUID();
    const clientRequestId = ctx.header('client-request-id') ?? requestId;
    let status = 500;
    let body: { error: Record<string, unknown> } = {
      error: { code: 'UnknownError', message: 'An unexpected error occurred.' },
    };
    let headers: Record<string, string> = {};
    if (error instanceof HttpError) {
      status = error.status;
      body = error.body as { error: Record<string, unknown> };
      headers = error.headers as Record<string, string>;
    }
    const inner = (body.error.innerError as Record<string, unknown> | undefined) ?? {};
    body = {
      error: {
        ...body.error,
        innerError: {
          ...inner,
          date: new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': requestId,
          'client-request-id': clientRequestId,
        },
      },
    };
    ctx.send(status, JSON.stringify(body), { 'content-type': ODATA_JSON, ...headers });
  };
}
