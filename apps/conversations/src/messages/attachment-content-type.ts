/** What an attachment is served as: its detected kind decides (ATT-2), never the sender's declared type alone. */
const MIME_BY_KIND: Record<string, string> = {
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

export function servedContentType(detectedKind: string | null, declared: string): string {
  if (detectedKind === 'mpeg' && declared.toLowerCase().startsWith('audio/')) return 'audio/mpeg';
  return (detectedKind && MIME_BY_KIND[detectedKind]) || 'application/octet-stream';
}

/** `attachment; filename="ascii"; filename*=UTF-8''utf8` (RFC 6266), with nothing that could break the header. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
