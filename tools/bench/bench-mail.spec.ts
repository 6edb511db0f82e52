import { simpleParser } from 'mailparser';
import { deliveryItem, rawMessage } from './bench-mail';

const mail = { to: 'owner@bench.example', from: 'contact@bench.example', subject: 'burst 7' };

describe('bench mail', () => {
  it('is a one-line message the sandbox composes by default', () => {
    expect(deliveryItem(mail, 0)).toEqual({
      mailbox: 'owner@bench.example',
      from: 'contact@bench.example',
      subject: 'burst 7',
      text: 'bench message burst 7',
    });
  });

  it('with --body-kb, a complete message of about that size whose two parts a mail parser reads back', async () => {
    const item = deliveryItem(mail, 32);
    expect(Object.keys(item).sort()).toEqual(['mailbox', 'raw']);
    const raw = item.raw;
    expect(raw.length).toBeGreaterThan(32 * 1024);
    expect(raw.length).toBeLessThan(34 * 1024);
    expect(raw.split('\r\n').every((line) => line.length <= 76)).toBe(true);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe('burst 7');
    expect(parsed.from?.value[0].address).toBe('contact@bench.example');
    expect(parsed.text?.length).toBeGreaterThan(15 * 1024);
    expect(parsed.html).toMatch(/^<p style="margin:0">[a-z]+( [a-z]+)+<\/p>/);
    expect(parsed.html).not.toContain('=\n');
  });

  it('gives every message its own Message-ID (a reused one would be a different case)', () => {
    const ids = [rawMessage(mail, 4), rawMessage(mail, 4)].map((r) => /^Message-ID: (.*)$/m.exec(r)?.[1]);
    expect(ids[0]).toMatch(/^<[0-9a-f]{24}@bench\.example>\r?$/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});
