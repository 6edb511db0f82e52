/** The mailboxes a person finds in the sandbox: a user with Gmail and with Outlook, and two contacts. */
export const SAMPLE_MAILBOXES = [
  { provider: 'google' as const, address: 'sam@gmail.sandbox.mailbridge.test', displayName: 'Sam Sandbox' },
  {
    provider: 'microsoft' as const,
    address: 'sam@outlook.sandbox.mailbridge.test',
    displayName: 'Sam Sandbox',
  },
  {
    provider: 'google' as const,
    address: 'casey@gmail.sandbox.mailbridge.test',
    displayName: 'Casey Contact',
  },
  {
    provider: 'microsoft' as const,
    address: 'robin@outlook.sandbox.mailbridge.test',
    displayName: 'Robin Contact',
  },
];
