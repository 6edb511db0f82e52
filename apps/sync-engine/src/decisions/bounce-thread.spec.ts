import { conversationIdFor } from '@mailbridge/contracts';
import { binding, decisionInput, observed } from '../testing/builders';
import { decideObservedMessage } from './decide-observed-message';
import { lookupKeys, messageKey } from './thread-keys';

const CONV_A = conversationIdFor('loc_a', 'ct_jane');

describe('SYN-9: a bounce joins the thread of the message it returns', () => {
  const bound = binding({ bindingId: 'b0000000-0000-4000-8000-0000000000b1', conversationId: CONV_A });
  // A Postfix/Exim/qmail report: its own thread, no In-Reply-To; the original's Message-ID only in the attached copy.
  const report = (withBounce: boolean) =>
    observed({
      message: {
        providerThreadId: 'th-dsn',
        from: { address: 'MAILER-DAEMON@mail.acme.example' },
        subject: 'Undelivered Mail Returned to Sender',
        classification: 'bounce',
        ...(withBounce
          ? {
              bounce: {
                format: 'postfix' as const,
                recipients: [{ address: 'jane@example.com', status: '5.1.1', diagnostic: 'User unknown' }],
                status: '5.1.1',
                diagnostic: 'User unknown',
                originalMessageId: '<mb.1@acme.example>',
              },
            }
          : {}),
      },
    });

  it("SYN-9: the returned Message-ID is a lookup key, so the report is delivered to the CRM send's conversation (SYN-2)", () => {
    const o = report(true);
    expect(lookupKeys(o.message)).toContainEqual({
      key: messageKey('<mb.1@acme.example>'),
      matchedBy: 'in_reply_to',
    });
    const d = decideObservedMessage(
      decisionInput({
        observed: o,
        bindings: [bound],
        keyMatches: [{ key: messageKey('<mb.1@acme.example>'), bindingId: bound.bindingId }],
        contacts: [],
      }),
    );
    expect(d.deliveries).toHaveLength(1);
    expect(d.deliveries[0]).toMatchObject({ conversationId: CONV_A, rule: 'SYN-2' });
    expect(d.deliveries[0].message.bounce?.originalMessageId).toBe('<mb.1@acme.example>');
  });

  it('SYN-9: without the bounce details the same report finds no thread', () => {
    const o = report(false);
    expect(lookupKeys(o.message).map((k) => k.key)).not.toContain(messageKey('<mb.1@acme.example>'));
    const d = decideObservedMessage(
      decisionInput({
        observed: o,
        bindings: [bound],
        keyMatches: [{ key: messageKey('<mb.1@acme.example>'), bindingId: bound.bindingId }],
        contacts: [],
      }),
    );
    expect(d.deliveries).toEqual([]);
  });
});
