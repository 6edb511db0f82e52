import { CrmUser, createMailbox, eventually, waitUntilObserved } from './harness/crm';
import { Platform, api, startPlatform } from './harness/platform.harness';

jest.setTimeout(300_000);

interface AuditReport {
  providerMessages: number;
  accounted: { synced: number; notSynced: number; skipped: number; quarantined: number };
  missing: number;
  healed: number;
  status: string;
}

/**
 * Issue 15 (SYN-10, proof of completeness) end to end: the four services as separate processes, Gmail emulator,
 * public surfaces only. Notifications are dropped and nothing polls (safety net 1 h, no scheduled audit): the
 * CRM's "audit now" finds the lost mail, which then appears once in the conversation.
 */
describe('completeness audit (e2e)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({
      label: 'audit',
      env: { AUDIT_INTERVAL_MINUTES: '0', AUDIT_GRACE_MINUTES: '0.05', SAFETY_NET_POLL_SECONDS: '3600' },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('SYN-10: mail whose notifications were lost is found by the CRM audit, appears once in the CRM, and the report says healed, complete', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const casey = createMailbox(platform, 'google', 'casey');
    const crm = new CrmUser(platform, 'loc_aud1', 'usr_sam');
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    await crm.putContact('ct_casey', { email: casey, name: 'Casey', assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_casey']);
    const auditUrl = `${platform.urls['identity-connections']}/v1/locations/loc_aud1/users/usr_sam/email-connection/audit`;
    const audit = async () => {
      const res = await api<AuditReport>(auditUrl, { method: 'POST', token: crm.token });
      expect(res.status).toBe(200);
      return res.body;
    };

    platform.sandbox.control.setNotificationBehaviour('google', { drop: true });
    await platform.sandbox.control.deliver(sam, {
      from: casey,
      subject: 'Lost quote question',
      text: 'Hi Sam?',
    });
    await platform.sandbox.control.deliver(sam, {
      from: 'someone@stranger.example',
      subject: 'Private',
      text: 'p',
    });
    await new Promise((r) => setTimeout(r, 4_500)); // past AUDIT_GRACE_MINUTES (3 s)
    expect((await crm.messages('ct_casey')).filter((m) => m.subject === 'Lost quote question')).toHaveLength(
      0,
    );

    expect(await audit()).toMatchObject({ missing: 2, status: 'healing' });
    const healed = await eventually(async () => {
      const report = await audit();
      expect(report.status).toBe('complete');
      return report;
    });
    expect(healed).toMatchObject({ missing: 0, healed: 2 });
    expect(healed.accounted.synced).toBeGreaterThanOrEqual(1);
    expect(healed.accounted.notSynced).toBeGreaterThanOrEqual(1); // the stranger (and the probes): by rule

    const lostInCrm = async () =>
      (await crm.messages('ct_casey')).filter((m) => m.subject === 'Lost quote question');
    await eventually(async () => expect(await lostInCrm()).toHaveLength(1));
    // Visible: the audit's finding in sync-events, and the connection status.
    await eventually(async () => {
      const events = await crm.syncEvents();
      expect(events).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'sync_gap', reason: 'audit_healed', rule: 'SYN-10' }),
        ]),
      );
      const status = await api<{ completeness: string; lastAuditAt: string }>(
        `${platform.urls['identity-connections']}/v1/locations/loc_aud1/users/usr_sam/email-connection`,
        { token: crm.token },
      );
      expect(status.body).toMatchObject({ completeness: 'complete', lastAuditAt: expect.any(String) });
    });
    const latest = await api<AuditReport>(auditUrl, { token: crm.token });
    expect(latest.body).toMatchObject({ status: 'complete', healed: 2 });
    // Once, still, after every audit above (each re-drive is idempotent).
    expect(await lostInCrm()).toHaveLength(1);
    platform.sandbox.control.setNotificationBehaviour('google', { drop: false });
  });
});
