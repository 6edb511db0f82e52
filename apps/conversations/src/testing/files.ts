/** Small real files, recognised by content (ATT-2). */
export const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
);

export const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('0000000d49484452000000010000000108060000001f15c489', 'hex'),
]);

/** A Windows executable (MZ header), whatever it is named. */
export const EXE = Buffer.concat([
  Buffer.from('MZ'),
  Buffer.alloc(62),
  Buffer.from('PE\0\0'),
  Buffer.alloc(200, 1),
]);

/** A PDF of `bytes` bytes: a real header, then padding. */
export function pdfOfSize(bytes: number): Buffer {
  const out = Buffer.alloc(bytes, 0x20);
  PDF.copy(out);
  return out;
}
