/**
 * Some messages of the page failed and have attempts left: the rest of the page is recorded, the cursor stays, and
 * the mailbox retries shortly (the failing messages are quarantined after MESSAGE_MAX_ATTEMPTS).
 */
export class MessagesPendingError extends Error {
  readonly code = 'message_retry_pending' as const;
  constructor(readonly count: number) {
    super(`${count} message(s) failed and will be retried before they are quarantined`);
    this.name = 'MessagesPendingError';
  }
}
