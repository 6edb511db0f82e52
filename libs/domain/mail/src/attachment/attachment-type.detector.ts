/**
 * ATT-2: what an attachment really is, decided from its first bytes (and, for text, its name), never from the
 * declared Content-Type. Works on a prefix: {@link DETECTION_PREFIX_BYTES} from the head of a stream are enough.
 *
 * Decisions (documented in the lib README):
 * - Content decides the kind. A supported kind under another supported name (a JPEG named `.pdf`) is fine.
 * - The name may still veto: when it has an extension, that extension must be one of
 *   {@link SUPPORTED_EXTENSIONS} (a real PDF named `run.exe` is refused, so is `report.xlsx` even though
 *   it is a ZIP container).
 * - MPEG covers MPEG-1/2 video (program stream pack header, video sequence header) as `video/mpeg` and MPEG
 *   audio (an ID3v2 tag, or two consecutive valid MPEG audio frame headers: MP3 and friends) as `audio/mpeg`;
 *   `.mp3` is an accepted extension.
 * - MP4 is an ISO media file with an `ftyp` box whose brand is an MP4 brand; QuickTime (`qt  `), HEIF/AVIF
 *   images and M4A/M4B audio are not MP4.
 * - PDF starts with `%PDF-` (or has it within the first KiB when named `.pdf`, as readers allow).
 * - DOC is an OLE2 compound file holding a `WordDocument` stream; when that stream is not within the prefix,
 *   an OLE2 file named `.doc` is believed unless the prefix shows another application's stream.
 * - DOCX is a ZIP whose entries include `[Content_Types].xml` and `word/...` (read from local file headers and
 *   the central directory found in the prefix); any other ZIP is ZIP.
 * - TXT is UTF-8/ASCII text (UTF-8 BOM allowed, a multi-byte sequence cut by the prefix end tolerated) or
 *   UTF-16 text with a BOM, without NULs or non-whitespace control characters, named `.txt` or without an
 *   extension. Legacy 8-bit text (e.g. Windows-1252) is accepted only when the name says `.txt`.
 *   Text under any other extension (`.html`, `.svg`, `.js`, `.csv`, ...) is not TXT.
 * - Executables (MZ/PE, ELF, Mach-O) are always refused, whatever their name.
 */

export const SUPPORTED_ATTACHMENT_KINDS = [
  'jpeg',
  'png',
  'mp4',
  'mpeg',
  'zip',
  'rar',
  'pdf',
  'doc',
  'docx',
  'txt',
] as const;
export type SupportedAttachmentKind = (typeof SUPPORTED_ATTACHMENT_KINDS)[number];
export type AttachmentKind = SupportedAttachmentKind | 'unknown';

/** Why a detection came out unsupported (or what was noticed). */
export type AttachmentTypeDetail =
  | 'executable'
  | 'unrecognized_content'
  | 'extension_not_allowed'
  | 'suspicious_filename'
  | 'ole2_not_word'
  | 'iso_media_not_mp4';

export interface AttachmentType {
  kind: AttachmentKind;
  /** The MIME type of the detected content (`application/octet-stream` when unknown). */
  mimeType: string;
  /** ATT-2: may this attachment be synced / sent. */
  supported: boolean;
  detail?: AttachmentTypeDetail;
}

/** How many leading bytes detection looks at; pass at least this much of a stream's head. */
export const DETECTION_PREFIX_BYTES = 64 * 1024;

/** File name extensions (lower case, no dot) an attachment may carry. */
export const SUPPORTED_EXTENSIONS: ReadonlySet<string> = new Set([
  'jpg',
  'jpeg',
  'png',
  'mp4',
  'mpeg',
  'mpg',
  'mp3',
  'zip',
  'rar',
  'pdf',
  'doc',
  'docx',
  'txt',
]);

const MIME: Record<SupportedAttachmentKind, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  mp4: 'video/mp4',
  mpeg: 'video/mpeg',
  zip: 'application/zip',
  rar: 'application/vnd.rar',
  pdf: 'application/pdf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  txt: 'text/plain',
};
const OCTET_STREAM = 'application/octet-stream';

// Bidi overrides and isolates let "invoice\u202Efdp.exe" display as "invoice.exe.pdf"-like names.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;

/** The lower-case extension of a file name, without the dot; undefined when it has none. */
export function fileExtension(filename: string | null | undefined): string | undefined {
  if (!filename) return undefined;
  // Windows ignores trailing dots and spaces, so "x.exe. " is an .exe.
  const base =
    filename
      .replace(/[. ]+$/, '')
      .split(/[\\/]/)
      .pop() ?? '';
  const dot = base.lastIndexOf('.');
  if (dot <= 0 || dot === base.length - 1) return undefined;
  return base.slice(dot + 1).toLowerCase();
}

/** ATT-2: detects the attachment's type from `head` (its first bytes, or all of them) and its file name. */
export function detectAttachmentType(head: Uint8Array, filename?: string | null): AttachmentType {
  const buf = Buffer.isBuffer(head) ? head : Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const ext = fileExtension(filename);
  const content = detectContent(buf, ext);
  if (content.kind === 'unknown') return content;
  if (filename && BIDI_CONTROLS.test(filename)) {
    return { ...content, supported: false, detail: 'suspicious_filename' };
  }
  if (ext !== undefined && !SUPPORTED_EXTENSIONS.has(ext)) {
    return { ...content, supported: false, detail: 'extension_not_allowed' };
  }
  return content;
}

/** ATT-2 shorthand: true when the attachment may be synced / sent. */
export function isSupportedAttachment(head: Uint8Array, filename?: string | null): boolean {
  return detectAttachmentType(head, filename).supported;
}

function found(kind: SupportedAttachmentKind, mimeType: string = MIME[kind]): AttachmentType {
  return { kind, mimeType, supported: true };
}

function unknown(detail: AttachmentTypeDetail): AttachmentType {
  return { kind: 'unknown', mimeType: OCTET_STREAM, supported: false, detail };
}

function startsWith(buf: Buffer, bytes: readonly number[], offset = 0): boolean {
  if (buf.length < offset + bytes.length) return false;
  return bytes.every((b, i) => buf[offset + i] === b);
}

function detectContent(buf: Buffer, ext: string | undefined): AttachmentType {
  if (isExecutable(buf)) return unknown('executable');
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return found('jpeg');
  if (startsWith(buf, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return found('png');
  if (startsWith(buf, [0x25, 0x50, 0x44, 0x46, 0x2d])) return found('pdf'); // %PDF-
  // Readers accept up to 1 KiB of junk before the header; we do too, but only for a file named .pdf, so a
  // text file that merely mentions "%PDF-" stays text.
  if (ext === 'pdf' && buf.subarray(0, 1024).includes('%PDF-')) return found('pdf');
  if (startsWith(buf, [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x00])) return found('rar'); // RAR 1.5-4.x
  if (startsWith(buf, [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x01, 0x00])) return found('rar'); // RAR 5
  if (isZip(buf)) return detectZip(buf, ext);
  if (startsWith(buf, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return detectOle2(buf, ext);
  if (buf.length >= 12 && buf.toString('latin1', 4, 8) === 'ftyp') return detectIsoMedia(buf);
  // MPEG-1/2 program stream pack header, or an elementary video stream's sequence header.
  if (startsWith(buf, [0x00, 0x00, 0x01, 0xba]) || startsWith(buf, [0x00, 0x00, 0x01, 0xb3])) {
    return found('mpeg', 'video/mpeg');
  }
  if (isMpegAudio(buf)) return found('mpeg', 'audio/mpeg');
  return detectText(buf, ext);
}

function isExecutable(buf: Buffer): boolean {
  return (
    startsWith(buf, [0x4d, 0x5a]) || // MZ: DOS/PE (.exe, .dll, .scr, self-extracting archives)
    startsWith(buf, [0x7f, 0x45, 0x4c, 0x46]) || // ELF
    startsWith(buf, [0xfe, 0xed, 0xfa, 0xce]) ||
    startsWith(buf, [0xfe, 0xed, 0xfa, 0xcf]) ||
    startsWith(buf, [0xce, 0xfa, 0xed, 0xfe]) ||
    startsWith(buf, [0xcf, 0xfa, 0xed, 0xfe]) || // Mach-O
    startsWith(buf, [0xca, 0xfe, 0xba, 0xbe]) // Mach-O universal (also Java classes)
  );
}

// ---- ZIP / DOCX -----------------------------------------------------------------------------------------

const LOCAL_FILE_HEADER = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const CENTRAL_DIRECTORY_HEADER = Buffer.from([0x50, 0x4b, 0x01, 0x02]);

function isZip(buf: Buffer): boolean {
  return (
    startsWith(buf, [0x50, 0x4b, 0x03, 0x04]) ||
    startsWith(buf, [0x50, 0x4b, 0x05, 0x06]) || // empty archive
    startsWith(buf, [0x50, 0x4b, 0x07, 0x08]) // spanned archive marker
  );
}

/** Entry names visible in the prefix: every local file header and central directory record found in it. */
export function zipEntryNames(buf: Buffer): string[] {
  const names = new Set<string>();
  const collect = (signature: Buffer, nameLengthAt: number, nameAt: number): void => {
    for (let at = buf.indexOf(signature); at !== -1; at = buf.indexOf(signature, at + 4)) {
      if (at + nameAt > buf.length) break;
      const length = buf.readUInt16LE(at + nameLengthAt);
      if (length === 0 || length > 1024 || at + nameAt + length > buf.length) continue;
      names.add(buf.toString('utf8', at + nameAt, at + nameAt + length));
    }
  };
  // Local headers: the name length sits at 26, the name at 30. Scanning for signatures (instead of hopping
  // from header to header by compressed size) also works for entries written with a data descriptor.
  collect(LOCAL_FILE_HEADER, 26, 30);
  // Central directory records: name length at 28, name at 46 (seen when the whole small file is in the prefix).
  collect(CENTRAL_DIRECTORY_HEADER, 28, 46);
  return [...names];
}

function detectZip(buf: Buffer, ext: string | undefined): AttachmentType {
  const names = zipEntryNames(buf);
  const ooxml = names.includes('[Content_Types].xml');
  if (ooxml && names.some((n) => n.startsWith('word/'))) return found('docx');
  // A large DOCX may keep its word/ parts beyond the prefix; the OOXML marker plus the name is enough then.
  if (ooxml && ext === 'docx' && !names.some((n) => n.startsWith('xl/') || n.startsWith('ppt/'))) {
    return found('docx');
  }
  return found('zip');
}

// ---- OLE2 / DOC ----------------------------------------------------------------------------------------

const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
const WORD_STREAM = utf16('WordDocument');
const OTHER_OLE2_STREAMS = [
  utf16('Workbook'),
  utf16('Book'),
  utf16('PowerPoint Document'),
  utf16('__substg1.0_'),
  utf16('__properties_version1.0'),
  utf16('VisioDocument'),
];

function detectOle2(buf: Buffer, ext: string | undefined): AttachmentType {
  // Directory entry names are UTF-16LE; searching the prefix finds them wherever the directory sectors sit.
  if (buf.includes(WORD_STREAM)) return found('doc');
  if (OTHER_OLE2_STREAMS.some((name) => buf.includes(name))) return unknown('ole2_not_word');
  if (ext === 'doc') return found('doc');
  return unknown('ole2_not_word');
}

// ---- ISO media / MP4 -----------------------------------------------------------------------------------

const MP4_BRANDS = new Set([
  'isom',
  'iso2',
  'iso3',
  'iso4',
  'iso5',
  'iso6',
  'iso7',
  'iso8',
  'iso9',
  'mp41',
  'mp42',
  'mp71',
  'avc1',
  'M4V ',
  'M4VH',
  'M4VP',
  'dash',
  'mmp4',
  'f4v ',
  'MSNV',
]);
// Major brands that make an ISO media file something other than an MP4 video.
const NOT_MP4_MAJOR_BRANDS = new Set([
  'qt  ',
  'heic',
  'heix',
  'hevc',
  'hevx',
  'heim',
  'heis',
  'mif1',
  'msf1',
  'avif',
  'avis',
  'crx ',
  'M4A ',
  'M4B ',
  'M4P ',
]);

function detectIsoMedia(buf: Buffer): AttachmentType {
  const major = buf.toString('latin1', 8, 12);
  if (NOT_MP4_MAJOR_BRANDS.has(major)) return unknown('iso_media_not_mp4');
  if (MP4_BRANDS.has(major)) return found('mp4');
  const boxSize = buf.readUInt32BE(0);
  const end = Math.min(boxSize >= 16 ? boxSize : 16, buf.length);
  for (let at = 16; at + 4 <= end; at += 4) {
    if (MP4_BRANDS.has(buf.toString('latin1', at, at + 4))) return found('mp4');
  }
  return unknown('iso_media_not_mp4');
}

// ---- MPEG audio ----------------------------------------------------------------------------------------

const BITRATES_KBPS = {
  v1l1: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  v1l2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  v1l3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2l1: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  v2l23: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, readonly number[]> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
};

interface FrameHeader {
  version: number;
  layer: number;
  sampleRate: number;
  length: number;
}

function frameHeaderAt(buf: Buffer, at: number): FrameHeader | undefined {
  if (at + 4 > buf.length || buf[at] !== 0xff || (buf[at + 1] & 0xe0) !== 0xe0) return undefined;
  const version = (buf[at + 1] >> 3) & 3;
  const layerBits = (buf[at + 1] >> 1) & 3;
  const bitrateIndex = buf[at + 2] >> 4;
  const rateIndex = (buf[at + 2] >> 2) & 3;
  const padding = (buf[at + 2] >> 1) & 1;
  if (version === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) {
    return undefined; // reserved values, or free format (whose frame length cannot be computed)
  }
  const layer = 4 - layerBits;
  const table =
    version === 3
      ? [BITRATES_KBPS.v1l1, BITRATES_KBPS.v1l2, BITRATES_KBPS.v1l3][layer - 1]
      : layer === 1
        ? BITRATES_KBPS.v2l1
        : BITRATES_KBPS.v2l23;
  const bitrate = table[bitrateIndex] * 1000;
  const sampleRate = SAMPLE_RATES[version][rateIndex];
  let length: number;
  if (layer === 1) length = (Math.floor((12 * bitrate) / sampleRate) + padding) * 4;
  else if (layer === 3 && version !== 3) length = Math.floor((72 * bitrate) / sampleRate) + padding;
  else length = Math.floor((144 * bitrate) / sampleRate) + padding;
  return length >= 4 ? { version, layer, sampleRate, length } : undefined;
}

function isMpegAudio(buf: Buffer): boolean {
  // ID3v2 tag (versions 2.2 to 2.4) in front of the frames.
  if (startsWith(buf, [0x49, 0x44, 0x33]) && buf.length >= 10 && buf[3] >= 2 && buf[3] <= 4) return true;
  // Bare frames: two consecutive valid headers of the same stream, so random 0xFFEx bytes do not pass.
  const first = frameHeaderAt(buf, 0);
  if (!first) return false;
  const second = frameHeaderAt(buf, first.length);
  return (
    second !== undefined &&
    second.version === first.version &&
    second.layer === first.layer &&
    second.sampleRate === first.sampleRate
  );
}

// ---- Text ----------------------------------------------------------------------------------------------

// C0 controls other than tab, LF, VT, FF, CR, SUB (DOS end of file) and ESC mean binary.
// eslint-disable-next-line no-control-regex
const BINARY_CONTROLS = /[\u0000-\u0008\u000E-\u0019\u001C-\u001F]/;

function detectText(buf: Buffer, ext: string | undefined): AttachmentType {
  const textName = ext === undefined || ext === 'txt';
  if (!textName) return unknown('unrecognized_content');
  const decoded = decodeText(buf, ext === 'txt');
  if (decoded === undefined || BINARY_CONTROLS.test(decoded)) return unknown('unrecognized_content');
  return found('txt');
}

function decodeText(buf: Buffer, allowLegacy8Bit: boolean): string | undefined {
  try {
    if (startsWith(buf, [0xff, 0xfe]))
      return new TextDecoder('utf-16le', { fatal: true }).decode(buf.subarray(2), { stream: true });
    if (startsWith(buf, [0xfe, 0xff]))
      return new TextDecoder('utf-16be', { fatal: true }).decode(buf.subarray(2), { stream: true });
    if (buf.includes(0)) return undefined;
    const body = startsWith(buf, [0xef, 0xbb, 0xbf]) ? buf.subarray(3) : buf;
    // `stream: true` tolerates a multi-byte sequence cut off by the end of the prefix.
    return new TextDecoder('utf-8', { fatal: true }).decode(body, { stream: true });
  } catch {
    // Not valid UTF-8 (or UTF-16): legacy single-byte text only counts when the name insists on .txt.
    return allowLegacy8Bit && !buf.includes(0) ? buf.toString('latin1') : undefined;
  }
}
