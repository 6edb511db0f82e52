import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { messageObservedV1 } from '@mailbridge/contracts';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

const PAT = 'pat-raw@gmail.sandbox.test';
const ALEX = 'alex@example.com';

/**
 * Issue 16: the raw RFC 822 of an observed message is kept only on request (STORE_RAW_MESSAGES): nothing reads it, and
 * by default each message costs no durable write of its own (mailbox-sync.int.spec checks the default leaves it out).
 */
describe('mail-gateway: STORE_RAW_MESSAGES=true keeps each observed message raw (sandbox Gmail)', () => {
  let h: GatewayHarness;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: { mailboxes: [{ provider: 'google', address: PAT }] },
      env: { STORE_RAW_MESSAGES: 'true' },
    });
    await h.connect(PAT, 'google');
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('names the stored raw message in message.observed; the file under that key holds those bytes', async () => {
    const delivered = await h.sandbox.control.deliver(PAT, { from: ALEX, subject: 'Keep me', text: 'raw' });
    const [observed] = await h.log.waitFor(
      messageObservedV1,
      (p) => p.message.providerMessageId === delivered.message.id,
    );
    const key = observed.message.rawObjectKey;
    expect(key).toMatch(/^sha256-[0-9a-f]{64}$/);
    const hex = key!.slice('sha256-'.length);
    const files = (await fs.readdir(h.objectDir, { recursive: true })).filter(
      (f) => path.basename(f) === hex,
    );
    expect(files).toHaveLength(1);
    const bytes = await fs.readFile(path.join(h.objectDir, files[0]));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(hex);
    expect(bytes.toString('latin1')).toContain('Subject: Keep me');
  }, 60_000);
});
