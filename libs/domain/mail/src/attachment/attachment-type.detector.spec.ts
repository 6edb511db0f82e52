import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  DETECTION_PREFIX_BYTES,
  detectAttachmentType,
  fileExtension,
  isSupportedAttachment,
  zipEntryNames,
} from './attachment-type.detector';

// ---- fixtures: real file layouts built in memory ----------------------------------------------------------

/** A stored (uncompressed) ZIP with local headers, central directory and end record. */
function zip(entries: Array<[string, Buffer]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    locals.push(local, nameBytes, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const CONTENT_TYPES: [string, Buffer] = ['[Content_Types].xml', Buffer.from('<?xml version="1.0"?><Types/>')];

/** An OLE2 compound file (v3, 512-byte sectors) whose first directory sector names `streams`. */
function ole2(streams: string[]): Buffer {
  const header = Buffer.alloc(512);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(header, 0);
  header.writeUInt16LE(0x3e, 0x18);
  header.writeUInt16LE(3, 0x1a);
  header.writeUInt16LE(0xfffe, 0x1c);
  header.writeUInt16LE(9, 0x1e);
  header.writeUInt16LE(6, 0x20);
  header.writeUInt32LE(0, 0x30); // first directory sector
  const directory = Buffer.alloc(512);
  ['Root Entry', ...streams].slice(0, 4).forEach((name, i) => {
    const encoded = Buffer.from(`${name}\0`, 'utf16le');
    encoded.copy(directory, i * 128);
    directory.writeUInt16LE(encoded.length, i * 128 + 64);
    directory[i * 128 + 66] = i === 0 ? 5 : 2;
  });
  return Buffer.concat([header, directory, Buffer.alloc(1024, 0xaa)]);
}

/** MPEG-1 Layer III, 128 kbit/s, 44.1 kHz frames: 417 bytes each. */
function mp3Frames(count: number): Buffer {
  const frame = Buffer.alloc(417, 0x55);
  Buffer.from([0xff, 0xfb, 0x90, 0x00]).copy(frame, 0);
  return Buffer.concat(Array.from({ length: count }, () => frame));
}

function ftyp(major: string, compatible: string[] = []): Buffer {
  const box = Buffer.alloc(16 + compatible.length * 4);
  box.writeUInt32BE(box.length, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, i) => box.write(brand, 16 + i * 4, 'latin1'));
  return Buffer.concat([box, Buffer.from([0, 0, 0, 8]), Buffer.from('mdat'), randomBytes(256)]);
}

const JPEG = Buffer.concat([
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
  Buffer.from('JFIF\0'),
  randomBytes(200),
]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(200)]);
const PDF = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n', 'latin1');
const EXE = Buffer.concat([
  Buffer.from('MZ'),
  Buffer.alloc(58),
  Buffer.from([0x80, 0, 0, 0]),
  randomBytes(300),
]);
const DOCX = zip([
  CONTENT_TYPES,
  ['_rels/.rels', Buffer.from('<Relationships/>')],
  ['word/document.xml', Buffer.from('<w:document/>')],
]);

// ---- tests ------------------------------------------------------------------------------------------------

describe('detectAttachmentType (ATT-2)', () => {
  it.each<[string, Buffer, string, string, string]>([
    ['JPEG', JPEG, 'photo.JPG', 'jpeg', 'image/jpeg'],
    ['JPEG as .jpeg', JPEG, 'photo.jpeg', 'jpeg', 'image/jpeg'],
    ['PNG', PNG, 'logo.png', 'png', 'image/png'],
    ['MP4 (isom)', ftyp('isom', ['isom', 'iso2', 'avc1', 'mp41']), 'clip.mp4', 'mp4', 'video/mp4'],
    ['MP4 by compatible brand', ftyp('XAVC', ['mp42', 'iso2']), 'clip.mp4', 'mp4', 'video/mp4'],
    [
      'MPEG program stream',
      Buffer.concat([Buffer.from([0, 0, 1, 0xba, 0x44]), randomBytes(100)]),
      'film.mpeg',
      'mpeg',
      'video/mpeg',
    ],
    [
      'MPEG video sequence',
      Buffer.concat([Buffer.from([0, 0, 1, 0xb3, 0x14]), randomBytes(100)]),
      'film.mpg',
      'mpeg',
      'video/mpeg',
    ],
    ['MP3 frames', mp3Frames(3), 'voice.mp3', 'mpeg', 'audio/mpeg'],
    [
      'MP3 with ID3v2',
      Buffer.concat([
        Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x0a', 'latin1'),
        randomBytes(10),
        mp3Frames(2),
      ]),
      'song.mp3',
      'mpeg',
      'audio/mpeg',
    ],
    ['ZIP', zip([['a.txt', Buffer.from('hello')]]), 'archive.zip', 'zip', 'application/zip'],
    ['empty ZIP', zip([]), 'empty.zip', 'zip', 'application/zip'],
    [
      'RAR 4',
      Buffer.concat([Buffer.from('Rar!\x1a\x07\x00', 'latin1'), randomBytes(50)]),
      'a.rar',
      'rar',
      'application/vnd.rar',
    ],
    [
      'RAR 5',
      Buffer.concat([Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), randomBytes(50)]),
      'a.rar',
      'rar',
      'application/vnd.rar',
    ],
    ['PDF', PDF, 'invoice.pdf', 'pdf', 'application/pdf'],
    [
      'PDF after junk, named .pdf',
      Buffer.concat([Buffer.from('garbage\r\n'), PDF]),
      'scan.pdf',
      'pdf',
      'application/pdf',
    ],
    ['DOC', ole2(['WordDocument', '1Table']), 'letter.doc', 'doc', 'application/msword'],
    [
      'DOCX',
      DOCX,
      'letter.docx',
      'docx',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    ],
    ['TXT', Buffer.from('Hello,\r\nplain text\twith tabs.\n'), 'notes.txt', 'txt', 'text/plain'],
    ['TXT without a name', Buffer.from('Grüße 你好 🙂\n'), '', 'txt', 'text/plain'],
    ['TXT with UTF-8 BOM', Buffer.from('\ufeffHello', 'utf8'), 'bom.txt', 'txt', 'text/plain'],
    [
      'TXT in UTF-16LE with BOM',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Hello wörld', 'utf16le')]),
      'u16.txt',
      'txt',
      'text/plain',
    ],
    ['empty TXT', Buffer.alloc(0), 'empty.txt', 'txt', 'text/plain'],
  ])('recognizes %s', (_label, bytes, filename, kind, mimeType) => {
    expect(detectAttachmentType(bytes, filename || undefined)).toEqual({ kind, mimeType, supported: true });
  });

  it('ATT-2: a renamed .exe posing as .pdf is unsupported', () => {
    expect(detectAttachmentType(EXE, 'invoice.pdf')).toEqual({
      kind: 'unknown',
      mimeType: 'application/octet-stream',
      supported: false,
      detail: 'executable',
    });
    expect(
      isSupportedAttachment(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), randomBytes(64)]), 'a.txt'),
    ).toBe(false);
  });

  it('ATT-2: a real PDF is fine whatever its name among supported ones, but not under a foreign extension', () => {
    expect(detectAttachmentType(PDF, 'really-a-pdf.doc')).toMatchObject({ kind: 'pdf', supported: true });
    expect(detectAttachmentType(PDF, 'run.exe')).toMatchObject({
      kind: 'pdf',
      supported: false,
      detail: 'extension_not_allowed',
    });
    expect(detectAttachmentType(PDF, 'run.exe. ')).toMatchObject({
      supported: false,
      detail: 'extension_not_allowed',
    });
    expect(detectAttachmentType(PDF, 'invoice\u202Efdp.exe')).toMatchObject({ supported: false });
    expect(detectAttachmentType(PDF, 'invoice\u202Efdp.pdf')).toMatchObject({
      supported: false,
      detail: 'suspicious_filename',
    });
  });

  it('ATT-2: a ZIP is DOCX only with [Content_Types].xml and word/ entries; other containers stay ZIP', () => {
    expect(detectAttachmentType(DOCX, 'renamed.zip')).toMatchObject({ kind: 'docx', supported: true });
    const xlsx = zip([CONTENT_TYPES, ['xl/workbook.xml', Buffer.from('<workbook/>')]]);
    expect(detectAttachmentType(xlsx, 'book.zip')).toMatchObject({ kind: 'zip', supported: true });
    expect(detectAttachmentType(xlsx, 'book.xlsx')).toMatchObject({ kind: 'zip', supported: false });
    expect(detectAttachmentType(zip([['word/document.xml', Buffer.from('x')]]), 'x.docx')).toMatchObject({
      kind: 'zip',
    });
  });

  it('ATT-2: DOCX is recognized from a 64 KiB prefix when its word/ parts come later', () => {
    const big = zip([
      CONTENT_TYPES,
      ['docProps/thumbnail.jpeg', randomBytes(100 * 1024)],
      ['word/document.xml', Buffer.from('x')],
    ]);
    const head = big.subarray(0, DETECTION_PREFIX_BYTES);
    expect(zipEntryNames(head)).toEqual(['[Content_Types].xml', 'docProps/thumbnail.jpeg']);
    expect(detectAttachmentType(head, 'big.docx')).toMatchObject({ kind: 'docx', supported: true });
    expect(detectAttachmentType(head, 'big.zip')).toMatchObject({ kind: 'zip', supported: true });
    expect(zipEntryNames(big)).toContain('word/document.xml');
  });

  it('ATT-2: an OLE2 file is DOC only when it holds a Word stream (or is named .doc and shows nothing else)', () => {
    expect(detectAttachmentType(ole2(['Workbook']), 'sheet.doc')).toMatchObject({
      kind: 'unknown',
      supported: false,
      detail: 'ole2_not_word',
    });
    expect(detectAttachmentType(ole2(['Data']), 'old.doc')).toMatchObject({ kind: 'doc', supported: true });
    expect(detectAttachmentType(ole2(['Data']), 'old.bin')).toMatchObject({
      kind: 'unknown',
      supported: false,
    });
    expect(detectAttachmentType(ole2(['WordDocument']), 'no-extension')).toMatchObject({
      kind: 'doc',
      supported: true,
    });
  });

  it('ATT-2: ISO media that is not MP4 (QuickTime, HEIF images, M4A audio) is unsupported', () => {
    for (const major of ['qt  ', 'heic', 'avif', 'M4A ']) {
      expect(detectAttachmentType(ftyp(major, ['isom']), 'media.mp4')).toMatchObject({
        kind: 'unknown',
        supported: false,
        detail: 'iso_media_not_mp4',
      });
    }
  });

  it('ATT-2: MPEG audio needs two consistent frames, so stray sync bytes are not MP3', () => {
    const stray = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x00]), Buffer.alloc(600, 0x41)]);
    expect(detectAttachmentType(stray, 'fake.mp3')).toMatchObject({ kind: 'unknown', supported: false });
    expect(detectAttachmentType(mp3Frames(2), undefined)).toMatchObject({
      kind: 'mpeg',
      mimeType: 'audio/mpeg',
    });
  });

  it('ATT-2: text counts as TXT only as .txt or without extension', () => {
    const html = Buffer.from('<!doctype html><html><body>hi</body></html>');
    expect(detectAttachmentType(html, 'page.html')).toMatchObject({ kind: 'unknown', supported: false });
    expect(detectAttachmentType(Buffer.from('a,b\n1,2\n'), 'data.csv')).toMatchObject({ supported: false });
    expect(detectAttachmentType(Buffer.from('mentions %PDF- in text'), 'notes.txt')).toMatchObject({
      kind: 'txt',
    });
    expect(detectAttachmentType(Buffer.from('just some text'), 'notes.pdf')).toMatchObject({
      supported: false,
    });
  });

  it('ATT-2: binary junk, NULs and control characters are not text', () => {
    expect(detectAttachmentType(Buffer.from('abc\0def'), 'a.txt')).toMatchObject({ kind: 'unknown' });
    expect(detectAttachmentType(Buffer.from([0x41, 0x01, 0x02, 0x42]), 'a.txt')).toMatchObject({
      kind: 'unknown',
    });
    expect(detectAttachmentType(Buffer.from([0x00, 0x00, 0x00, 0x00, 0x01]), undefined)).toMatchObject({
      kind: 'unknown',
      detail: 'unrecognized_content',
    });
    expect(detectAttachmentType(Buffer.alloc(0), 'empty.pdf')).toMatchObject({ supported: false });
  });

  it('ATT-2: a multi-byte character cut by the prefix end is still text; legacy 8-bit text only as .txt', () => {
    const cut = Buffer.from('aé', 'utf8').subarray(0, 2);
    expect(detectAttachmentType(cut, 'cut.txt')).toMatchObject({ kind: 'txt' });
    const latin1 = Buffer.from('caf\xe9 cr\xe8me', 'latin1');
    expect(detectAttachmentType(latin1, 'menu.txt')).toMatchObject({ kind: 'txt', supported: true });
    expect(detectAttachmentType(latin1, undefined)).toMatchObject({ kind: 'unknown', supported: false });
  });

  it('ATT-2: a prefix of a large file gives the same answer as the whole file', () => {
    const largePng = Buffer.concat([PNG, randomBytes(2 * 1024 * 1024)]);
    expect(detectAttachmentType(largePng.subarray(0, DETECTION_PREFIX_BYTES), 'big.png')).toEqual(
      detectAttachmentType(largePng, 'big.png'),
    );
  });

  it('the declared content type plays no part: the same bytes give the same answer', () => {
    expect(detectAttachmentType(new Uint8Array(PDF), 'x.pdf')).toEqual(detectAttachmentType(PDF, 'x.pdf'));
  });
});

describe('fileExtension', () => {
  it.each([
    ['a.PDF', 'pdf'],
    ['archive.tar.gz', 'gz'],
    ['.bashrc', undefined],
    ['README', undefined],
    ['trailing.', undefined],
    ['x.exe. . ', 'exe'],
    ['dir/sub.d/file', undefined],
    [undefined, undefined],
  ])('%j → %j', (name, ext) => {
    expect(fileExtension(name)).toBe(ext);
  });
});
