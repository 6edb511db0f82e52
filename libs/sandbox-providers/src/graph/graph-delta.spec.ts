import { ManualClock } from '../shared/clock';
import { IdFactory } from '../shared/id-factory';
import { decodeDeltaToken, deltaItems, encodeDeltaToken, type DeltaState } from './graph-delta';
import { GraphMailbox, type GraphMessage } from './graph-mailbox';

function message(mailbox: GraphMailbox, subject: string): Omit<GraphMessage, 'seq'> {
  const conversation = mailbox.newConversation();
  return {
    immutableId: mailbox.newImmutableId(),
    restId: mailbox.newRestId(),
    folder: 'inbox',
    createdDateTime: 0,
    lastModifiedDateTime: 0,
    receivedDateTime: 0,
    changeKey: mailbox.newChangeKey(),
    categories: [],
    subject,
    body: { contentType: 'text', content: '' },
    importance: 'normal',
    toRecipients: [],
    ccRecipients: [],
    bccRecipients: [],
    replyTo: [],
    internetMessageId: mailbox.newInternetMessageId(),
    internetMessageHeaders: [],
    conversationId: conversation.conversationId,
    conversationIndex: conversation.conversationIndex,
    isRead: false,
    isDraft: false,
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    flag: { flagStatus: 'notFlagged' },
    attachments: [],
    references: [],
  };
}

describe('Graph delta rounds', () => {
  const setup = () => {
    const mailbox = new GraphMailbox(
      'u@x.test',
      'U',
      '11111111-2222-4333-8444-555555555555',
      'tid',
      new ManualClock(0),
      new IdFactory(7),
    );
    const state = (s: number): DeltaState => ({
      m: mailbox.oid,
      f: 'inbox',
      s,
      t: mailbox.currentSeq,
      o: 0,
      e: 0,
      ps: 10,
    });
    return { mailbox, state };
  };

  it('lists the folder content on the initial round', () => {
    const { mailbox, state } = setup();
    const a = mailbox.add(message(mailbox, 'a'));
    mailbox.add(message(mailbox, 'b'));
    const items = deltaItems(mailbox, state(-1));
    expect(items.map((i) => (i.kind === 'message' ? i.message.subject : 'removed'))).toEqual(['a', 'b']);
    expect(items[0]).toEqual({ kind: 'message', message: a });
  });

  it('collapses later changes per message and reports messages that left the folder with their old id', () => {
    const { mailbox, state } = setup();
    const a = mailbox.add(message(mailbox, 'a'));
    const b = mailbox.add(message(mailbox, 'b'));
    const cursor = mailbox.currentSeq;
    mailbox.touch(a);
    mailbox.touch(a);
    const oldRestId = b.restId;
    mailbox.move(b, 'deleteditems');
    const c = mailbox.add(message(mailbox, 'c'));
    const items = deltaItems(mailbox, state(cursor));
    expect(items).toEqual([
      { kind: 'message', message: a },
      { kind: 'removed', immutableId: b.immutableId, restId: oldRestId },
      { kind: 'message', message: c },
    ]);
    expect(b.restId).not.toBe(oldRestId);
  });

  it('round-trips opaque tokens and rejects garbage', () => {
    const s: DeltaState = { m: 'oid', f: 'sentitems', s: 3, t: 9, o: 2, e: 1, ps: 5, sel: 'id,subject' };
    expect(decodeDeltaToken(encodeDeltaToken(s))).toEqual(s);
    expect(decodeDeltaToken('not-a-token')).toBeUndefined();
  });
});
