import { mailboxSyncHealthChangedV1 } from '@mailbridge/contracts';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

const SAM_GMAIL = 'sam@gmail.sandbox.test';

describe('mail-gateway reports failing watch renewals (CON-7)', () => {
  let h: GatewayHarness;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: { mailboxes: [{ provider: 'google', address: SAM_GMAIL, displayName: 'Sam' }] },
    });
    await h.connect(SAM_GMAIL, 'google');
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('CON-7: renewals failing in a row are counted in mailbox.sync-health-changed with the expiry of the current watch; a successful renewal resets the count', async () => {
    const [row] = await h.query<{ watch_expires_at: Date }>(
      `SELECT watch_expires_at FROM mail_gateway.mailboxes WHERE mailbox_key = $1`,
      [`google:${SAM_GMAIL}`],
    );
    expect(row.watch_expires_at).toBeInstanceOf(Date);
    // Gmail's users.watch keeps failing; the renewal is due now.
    h.sandbox.control.injectFault('gmail', {
      status: 500,
      count: 100_000,
      pathIncludes: '/watch',
      mailbox: SAM_GMAIL,
    });
    await h.query(
      `UPDATE mail_gateway.mailboxes SET watch_renew_at = now() - interval '1 second' WHERE mailbox_key = $1`,
      [`google:${SAM_GMAIL}`],
    );
    const [third] = await h.log.waitFor(
      mailboxSyncHealthChangedV1,
      (p) => p.mailboxKey === `google:${SAM_GMAIL}` && (p.watch?.renewalFailures ?? 0) >= 3,
      1,
      60_000,
    );
    expect(third.watch?.expiresAt).toBe(row.watch_expires_at.toISOString());

    h.sandbox.control.clearFaults('gmail');
    // Renewed: the count is back to 0 and the new watch expires later than the one that was about to lapse.
    await h.log.waitFor(
      mailboxSyncHealthChangedV1,
      (p) =>
        p.mailboxKey === `google:${SAM_GMAIL}` &&
        p.stage === 'watching' &&
        p.watch?.renewalFailures === 0 &&
        Date.parse(p.watch.expiresAt ?? '') > row.watch_expires_at.getTime(),
      1,
      60_000,
    );
  });
});
