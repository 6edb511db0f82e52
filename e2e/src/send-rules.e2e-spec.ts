import { CrmUser, copies, createMailbox, waitUntilObserved } from './harness/crm';
import { Platform, startPlatform } from './harness/platform.harness';

jest.setTimeout(300_000);

/**
 * Issue 18: conversations' early refusal (the CRM's answer) and mail-gateway's last check before the provider decide
 * SND-4 with the same function, so the CRM's answer is what mail-gateway does. Both services read the same settings:
 * a Gmail cap of 0 (no cap) and an Outlook cap of 1 (so one individual email uses it up).
 */
describe('send rules: the CRM answer is what mail-gateway does (e2e)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({
      label: 'send-rules',
      env: { SEND_CAP_GOOGLE_PER_DAY: '0', SEND_CAP_MICROSOFT_PER_DAY: '1' },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('SND-4: a cap of 0 means no cap in both services: every accepted individual email through the Gmail mailbox is sent, none fails with sending_cap_reached', async () => {
    const gia = createMailbox(platform, 'google', 'gia');
    const contact = createMailbox(platform, 'google', 'contact');
    const crm = new CrmUser(platform, 'loc_s1', 'usr_gia');
    await crm.connect('google', gia);
    await waitUntilObserved(platform, gia);
    await crm.putContact('ct_c', { email: contact, assignedUserId: 'usr_gia' });
    for (const subject of ['Uncapped 1', 'Uncapped 2']) {
      const sent = await crm.sendAndWait('ct_c', { subject, text: 'Hi' });
      expect(sent.failure ?? null).toBeNull();
      expect(copies(platform, gia, subject).sent).toHaveLength(1);
    }
  });

  it('SND-4: only individual emails count against the cap; bulk email through the Outlook mailbox (SND-2) neither counts nor is refused, and the individual email over the cap is refused by the CRM answer itself', async () => {
    const oli = createMailbox(platform, 'microsoft', 'oli');
    const contact = createMailbox(platform, 'google', 'client');
    const crm = new CrmUser(platform, 'loc_s2', 'usr_oli');
    await crm.connect('microsoft', oli);
    await waitUntilObserved(platform, oli);
    await crm.putContact('ct_c', { email: contact, assignedUserId: 'usr_oli' });
    const bulk = (subject: string) =>
      crm.sendAndWait('ct_c', { kind: 'bulk', from: { address: oli }, subject, text: 'News' });

    await bulk('Bulk before');
    await crm.sendAndWait('ct_c', { subject: 'Individual within the cap', text: 'Hi' });
    await bulk('Bulk at the cap');
    for (const subject of ['Bulk before', 'Individual within the cap', 'Bulk at the cap'])
      expect([subject, copies(platform, oli, subject).sent.length]).toEqual([subject, 1]);

    const over = await crm.send('ct_c', { subject: 'Individual over the cap', text: 'Hi' });
    expect(over.status).toBe(422);
    const error = (over.body as unknown as { error: { code: string; details: Record<string, unknown> } })
      .error;
    expect(error.code).toBe('sending_cap_reached');
    expect(error.details).toMatchObject({ cap: 1, windowHours: 24, sentInWindow: 1 });
    expect(copies(platform, oli, 'over the cap').sent).toEqual([]);
  });
});
