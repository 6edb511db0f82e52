import { randomUUID } from 'node:crypto';
import { messageDecidedV1 } from '@mailbridge/contracts';
import { startInProcessHarness, type Harness } from '../testing/harness';
import {
  connected,
  connectionSnapshot,
  contactUpserted,
  observedEvent,
  observedMessage,
} from '../testing/events';

/**
 * SYN-10: every decision of an observed mailbox message is announced as `message.decided` (ids and codes) for
 * mail-gateway's ledger of outcomes, and announced again when the same message is observed again (how the
 * completeness audit re-drives a message whose outcome never reached the ledger).
 */
describe('sync-engine: message.decided feeds the ledger of outcomes (SYN-10, PostgreSQL + in-process bus)', () => {
  let h: Harness;
  const address = 'sam.ledger@acme.example';
  const connection = connectionSnapshot({ locationId: 'loc_ledger', emailAddress: address });
  const observe = (providerMessageId: string, from: string) =>
    observedEvent(
      observedMessage({
        mailboxId: randomUUID(),
        mailboxKey: connection.mailboxKey,
        mailboxAddress: address,
        message: {
          providerMessageId,
          providerThreadId: `th-${providerMessageId}`,
          rfcMessageId: `<${providerMessageId}@example.com>`,
          from: { address: from },
          to: [{ address }],
        },
      }),
    );
  const decidedOf = (id: string) => h.log.of(messageDecidedV1, (p) => p.providerMessageId === id);

  beforeAll(async () => {
    h = await startInProcessHarness();
    await h.publish(
      connected(connection),
      contactUpserted({ locationId: 'loc_ledger', contactId: 'ct_jane', email: 'jane@example.com' }),
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it("SYN-10: a contact's message is announced synced with its conversation count; a stranger's not_synced by its rule", async () => {
    await h.publish(observe('gm-led-1', 'jane@example.com'), observe('gm-led-2', 'stranger@example.net'));
    const [synced] = await h.log.waitFor(messageDecidedV1, (p) => p.providerMessageId === 'gm-led-1');
    expect(synced).toMatchObject({
      mailboxKey: connection.mailboxKey,
      outcome: 'synced',
      reason: null,
      conversations: 1,
    });
    const [stranger] = await h.log.waitFor(messageDecidedV1, (p) => p.providerMessageId === 'gm-led-2');
    expect(stranger).toMatchObject({ outcome: 'not_synced', conversations: 0 });
    expect(stranger.reason).toEqual(expect.any(String));
    expect(stranger.rule).toMatch(/^[A-Z]+-\d+$/);
  });

  it('SYN-10: a repeat of a decided message (the audit re-drives it) announces the stored outcome again, nothing else', async () => {
    await h.publish(observe('gm-led-3', 'jane@example.com'));
    await h.log.waitFor(messageDecidedV1, (p) => p.providerMessageId === 'gm-led-3');
    await h.publish(observe('gm-led-3', 'jane@example.com'));
    const both = await h.log.waitFor(messageDecidedV1, (p) => p.providerMessageId === 'gm-led-3', 2);
    expect(both[1]).toMatchObject({ outcome: 'synced', conversations: 1 });
    await h.drained();
    expect(decidedOf('gm-led-3')).toHaveLength(2);
  });
});
