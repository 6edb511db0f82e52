import type { FolderName, GraphMailbox, GraphMessage } from './graph-mailbox';

/** What a delta link or next link encodes (opaque to clients: base64url JSON). */
export interface DeltaState {
  /** Mailbox object id. */
  m: string;
  f: FolderName;
  /** Changes after this sequence number; -1 for the initial full enumeration. */
  s: number;
  /** Upper bound of this round (the sequence when it started). */
  t: number;
  /** Items already returned in this round. */
  o: number;
  /** Folder epoch the token belongs to; a newer epoch means the state is gone (410). */
  e: number;
  sel?: string;
  ps: number;
}

export function encodeDeltaToken(state: DeltaState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodeDeltaToken(token: string): DeltaState | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as DeltaState;
    return typeof parsed.m === 'string' && typeof parsed.s === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export type DeltaItem =
  { kind: 'message'; message: GraphMessage } | { kind: 'removed'; immutableId: string; restId: string };

/**
 * The items of one delta round, oldest change first. Initial rounds list what the folder held at `t`; later rounds
 * collapse each message's changes in (s, t] to its current state, or `@removed` when it left the folder.
 */
export function deltaItems(mailbox: GraphMailbox, state: DeltaState): DeltaItem[] {
  if (state.s < 0) {
    return mailbox
      .inFolder(state.f)
      .filter((m) => m.seq <= state.t)
      .sort((a, b) => a.seq - b.seq)
      .map((message) => ({ kind: 'message' as const, message }));
  }
  const last = new Map<string, { seq: number; restId: string }>();
  for (const c of mailbox.changes) {
    if (c.seq <= state.s || c.seq > state.t || c.folder !== state.f) continue;
    last.delete(c.immutableId);
    last.set(c.immutableId, { seq: c.seq, restId: c.restId });
  }
  const items: DeltaItem[] = [];
  for (const [immutableId, info] of last) {
    const message = mailbox.messages.get(immutableId);
    if (message && message.folder === state.f) items.push({ kind: 'message', message });
    else items.push({ kind: 'removed', immutableId, restId: info.restId });
  }
  return items;
}
