/**
 * The bytes of a message's top-level header block: everything up to and including the first line feed of its blank
 * line (`\n\n` or `\n\r\n`), or all of `head` when it has none. Code that reads only headers decodes this instead of a
 * whole head, which may hold 256 KB of attachment (issue 16). The cut is after an ASCII line feed, so decoding it as
 * UTF-8 or Latin-1 gives the same text as decoding all of `head` and cutting at the blank line.
 */
export function headerBlockOf(head: Buffer): Buffer {
  const lf = head.indexOf('\n\n', 0, 'latin1');
  const crlf = head.indexOf('\n\r\n', 0, 'latin1');
  const end = lf === -1 ? crlf : crlf === -1 ? lf : Math.min(lf, crlf);
  return end === -1 ? head : head.subarray(0, end + 1);
}
