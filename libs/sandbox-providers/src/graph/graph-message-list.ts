// Collection reads of messages: the paged, filtered list (`/messages`, `/mailFolders/{id}/messages`) and a
// folder's delta query (pages, `@odata.nextLink`/`@odata.deltaLink`, `@removed` entries).
import { type DeltaState, decodeDeltaToken, deltaItems, encodeDeltaToken } from './graph-delta';
import { graphError, graphErrors } from './graph-errors';
import { messageJson, parseSelect } from './graph-json';
import type { FolderName } from './graph-mailbox';
import { compileListQuery } from './graph-odata';
import {
  type GraphCall,
  type GraphRouteKit,
  json,
  messageOptions,
  preferenceApplied,
} from './graph-route-kit';

export function listMessages(kit: GraphRouteKit, call: GraphCall, folder?: FolderName): void {
  const { base } = kit;
  const q = call.ctx.query;
  const select = parseSelect(q.get('$select'));
  const { filter, top, skip, orderAsc } = compileListQuery(q);
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
}

export function deltaMessages(kit: GraphRouteKit, call: GraphCall, folder: FolderName): void {
  const { base } = kit;
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
      throw graphError(410, 'syncStateNotFound', 'The sync state generation was not found. Please re-sync.', {
        location: linkBase,
      });
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
    body['@odata.deltaLink'] = `${linkBase}?$deltatoken=${encodeDeltaToken({ ...state, s: state.t, o: 0 })}`;
  }
  json(call.ctx, body, 200, preferenceApplied(call));
}
