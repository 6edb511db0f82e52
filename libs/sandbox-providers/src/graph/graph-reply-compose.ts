// Replies and forwards as Outlook composes them: who they go to and the quoted original under the comment.
import { formatAddress } from '../shared/mime-headers';
import type { GraphEmailAddress, GraphMailbox, GraphMessage } from './graph-mailbox';
import type { ReplyKind } from './graph-message-input';

/** To/Cc of a reply (reply-to or sender, or the original recipients of one's own message); none for a forward. */
export function replyRecipients(
  mailbox: GraphMailbox,
  original: GraphMessage,
  kind: ReplyKind,
): { to: GraphEmailAddress[]; cc: GraphEmailAddress[] } {
  const selfAddress = mailbox.address.toLowerCase();
  const notSelf = (r: GraphEmailAddress) => r.emailAddress.address.toLowerCase() !== selfAddress;
  const ownMessage =
    original.folder === 'sentitems' || original.from?.emailAddress.address.toLowerCase() === selfAddress;
  let to: GraphEmailAddress[] = [];
  let cc: GraphEmailAddress[] = [];
  if (kind !== 'forward') {
    const primary = ownMessage
      ? original.toRecipients
      : original.replyTo.length > 0
        ? original.replyTo
        : original.from
          ? [original.from]
          : [];
    to = [...primary];
    if (kind === 'replyAll') {
      to = [...to, ...original.toRecipients.filter(notSelf)];
      cc = original.ccRecipients.filter(notSelf);
    }
    const seen = new Set<string>();
    to = to.filter(
      (r) =>
        !seen.has(r.emailAddress.address.toLowerCase()) && !!seen.add(r.emailAddress.address.toLowerCase()),
    );
  }
  return { to, cc };
}

/** The original under a reply's or forward's comment, in Outlook's `divRplyFwdMsg` layout. */
export function quoteOriginal(original: GraphMessage): string {
  const from = original.from
    ? formatAddress({ name: original.from.emailAddress.name, address: original.from.emailAddress.address })
    : '';
  const originalHtml =
    original.body.contentType === 'html'
      ? original.body.content.replace(/^[\s\S]*<body[^>]*>|<\/body>[\s\S]*$/gi, '')
      : `<pre>${escapeHtml(original.body.content)}</pre>`;
  return (
    `<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg"><b>From:</b> ${escapeHtml(from)}<br>` +
    `<b>Sent:</b> ${new Date(original.sentDateTime ?? original.receivedDateTime).toUTCString()}<br>` +
    `<b>Subject:</b> ${escapeHtml(original.subject)}</div><div>${originalHtml}</div>`
  );
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
