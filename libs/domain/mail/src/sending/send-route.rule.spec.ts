import { SEND_KINDS, chooseSendRoute, type SenderMailbox } from './send-route.rule';

const gmail: SenderMailbox = { provider: 'google', address: 'sam@acme.example' };
const outlook: SenderMailbox = { provider: 'microsoft', address: 'sam@acme.example' };

describe('chooseSendRoute', () => {
  it('SND-1: an individual email goes through the user’s active mailbox, without one through the location provider', () => {
    expect(chooseSendRoute('individual', undefined, gmail)).toMatchObject({ via: 'mailbox', rule: 'SND-1' });
    expect(chooseSendRoute('individual', 'other@acme.example', outlook)).toMatchObject({
      via: 'mailbox',
      rule: 'SND-1',
    });
    expect(chooseSendRoute('individual', undefined, null)).toMatchObject({
      via: 'location_provider',
      rule: 'SND-1',
    });
  });

  it('SND-2: Outlook bulk email goes through the mailbox only when From is the connected address (any case)', () => {
    expect(chooseSendRoute('bulk', 'SAM@Acme.example', outlook)).toMatchObject({
      via: 'mailbox',
      rule: 'SND-2',
    });
    for (const from of [undefined, null, '', 'news@acme.example']) {
      expect(chooseSendRoute('bulk', from, outlook)).toMatchObject({
        via: 'location_provider',
        rule: 'SND-2',
      });
    }
  });

  it('SND-2: Gmail bulk email, and bulk email without a connection, always go through the location provider', () => {
    expect(chooseSendRoute('bulk', gmail.address, gmail)).toMatchObject({
      via: 'location_provider',
      rule: 'SND-2',
    });
    expect(chooseSendRoute('bulk', 'sam@acme.example', null)).toMatchObject({
      via: 'location_provider',
      rule: 'SND-2',
    });
  });

  it('SND-3: workflow email always goes through the location provider, whatever the connection and From', () => {
    for (const mailbox of [gmail, outlook, null]) {
      expect(chooseSendRoute('workflow', 'sam@acme.example', mailbox)).toMatchObject({
        via: 'location_provider',
        rule: 'SND-3',
      });
    }
  });

  it('SND-1..3: every choice carries a trace line naming its rule', () => {
    for (const kind of SEND_KINDS) {
      for (const mailbox of [gmail, outlook, null]) {
        const choice = chooseSendRoute(kind, 'sam@acme.example', mailbox);
        expect(choice.trace.startsWith(`${choice.rule}: `)).toBe(true);
      }
    }
  });
});
