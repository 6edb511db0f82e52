import { Readable } from 'node:stream';
import { DETECTION_PREFIX_BYTES, detectAttachmentType } from './attachment-type.detector';
import { readPrefix } from './stream-prefix.util';

describe('readPrefix', () => {
  it('ATT-2: reads only the detection prefix of a long stream and stops it', async () => {
    let produced = 0;
    const source = new Readable({
      read() {
        produced += 16 * 1024;
        this.push(
          produced === 16 * 1024
            ? Buffer.from('%PDF-1.7\n'.padEnd(16 * 1024, 'x'))
            : Buffer.alloc(16 * 1024, 0x20),
        );
      },
    });
    const head = await readPrefix(source);
    expect(head.length).toBe(DETECTION_PREFIX_BYTES);
    expect(source.destroyed).toBe(true);
    // Far less than an endless stream: reading stopped right after the prefix (plus stream buffering).
    expect(produced).toBeLessThan(DETECTION_PREFIX_BYTES * 4);
    expect(detectAttachmentType(head, 'a.pdf')).toMatchObject({ kind: 'pdf', supported: true });
  });

  it('returns everything of a short stream', async () => {
    expect(await readPrefix(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 3)).toEqual(
      Buffer.from('abc'),
    );
    expect(await readPrefix(Readable.from([Buffer.from('ab')]))).toEqual(Buffer.from('ab'));
    expect(await readPrefix(Readable.from([]))).toEqual(Buffer.alloc(0));
  });
});
