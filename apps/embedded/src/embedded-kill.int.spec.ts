import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { SandboxProviders, startSandboxProviders } from '@mailbridge/sandbox-providers';
import { buildApp, freePortBase, expectEventually, spawnNode, SpawnedProcess } from '@mailbridge/testing';

const KILLS = 20;
const LOCATION = 'loc_kill';
const USER = 'usr_kill';
const RETURN_URL = 'http://localhost/embedded-kill/connected';

interface CrmMessage {
  direction: string;
  provider: { messageId: string | null };
}

/**
 * Loss path 2 of issue 14, from the outside: the embedded process (`npm start`) is killed with SIGKILL at random
 * instants (during start-up, while the services come up one by one, and while it runs) as mail keeps arriving, and is
 * restarted on the same data dir each time. The sandbox runs in this process (its mailboxes are memory: inside the
 * embedded process they would not survive a kill); the platform reaches it through the provider settings only.
 */
describe('embedded: kill -9 during a stream of inbound mail', () => {
  let entry: string;
  let dataDir: string;
  let sandbox: SandboxProviders;
  let proc: SpawnedProcess | undefined;
  let env: Record<string, string>;
  let urls: { identity: string; conversations: string };
  const authSecret = randomBytes(32).toString('hex');
  const token = jwt.sign({ loc: LOCATION }, authSecret, {
    subject: USER,
    algorithm: 'HS256',
    expiresIn: 3600,
  });

  beforeAll(async () => {
    entry = await buildApp('apps/embedded');
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-embedded-kill-'));
    const base = await freePortBase([1, 2, 3, 4]);
    urls = { identity: `http://127.0.0.1:${base + 1}`, conversations: `http://127.0.0.1:${base + 4}` };
    sandbox = await startSandboxProviders({
      mailboxes: [],
      google: {
        pushEndpoint: `http://127.0.0.1:${base + 2}/v1/webhooks/gmail`,
        // Pub/Sub retries a failed push with backoff (10 s..600 s by default); shorter keeps the test short.
        pushRetry: { minBackoffMs: 200, maxBackoffMs: 2_000, maxAttempts: 10_000 },
      },
    });
    env = {
      MAILBRIDGE_DATA_DIR: dataDir,
      MAILBRIDGE_PORT_BASE: String(base),
      MAILBRIDGE_SANDBOX: 'off',
      AUTH_JWT_SECRET: authSecret,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
      ...sandbox.platformEnv(),
    };
  }, 120_000);
  afterAll(async () => {
    await proc?.stop();
    await sandbox?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const spawn = () => {
    proc = spawnNode(entry, [], env);
    return proc;
  };
  const ready = async (p: SpawnedProcess) => {
    await p.waitFor(/Mint a CRM token/, 150_000);
  };
  const kill = async () => {
    proc!.child.kill('SIGKILL');
    await proc!.exited;
    proc = undefined;
  };
  const crm = async <T>(url: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        Authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const location = () => `${urls.conversations}/v1/locations/${LOCATION}`;

  /** The provider message ids in the contact's conversation (every page), one entry per CRM message. */
  async function conversationMessageIds(contactId: string): Promise<string[]> {
    const conversations = await crm<{ items: Array<{ id: string }> }>(
      `${location()}/conversations?contactId=${contactId}`,
    );
    expect(conversations.status).toBe(200);
    if (conversations.body.items.length === 0) return [];
    expect(conversations.body.items).toHaveLength(1);
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: CrmMessage[]; nextCursor: string | null } } = await crm(
        `${location()}/conversations/${conversations.body.items[0].id}/messages?limit=100${
          cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
        }`,
      );
      expect(page.status).toBe(200);
      for (const m of page.body.items)
        if (m.direction === 'inbound' && m.provider.messageId) ids.push(m.provider.messageId);
      cursor = page.body.nextCursor;
    } while (cursor);
    return ids;
  }

  /** The OAuth dance as the user's browser does it (the emulator consents at once for the login_hint mailbox). */
  async function connectGmail(mailbox: string): Promise<void> {
    const started = await crm<{ authorizeUrl: string }>(
      `${urls.identity}/v1/locations/${LOCATION}/users/${USER}/email-connection/google/authorize`,
      { method: 'POST', body: { returnUrl: RETURN_URL } },
    );
    expect(started.status).toBe(200);
    const authorize = new URL(started.body.authorizeUrl);
    authorize.searchParams.set('login_hint', mailbox);
    let next = authorize.toString();
    while (!next.startsWith(RETURN_URL)) {
      const res = await fetch(next, { redirect: 'manual' });
      const to = res.headers.get('location');
      if (!to) throw new Error(`${next} answered ${res.status} without a redirect: ${await res.text()}`);
      next = new URL(to, next).toString();
    }
    expect(new URL(next).searchParams.get('status')).toBe('connected');
  }

  it('loss path 2: kill -9 of the embedded process at 20 random instants loses and duplicates nothing', async () => {
    const mailbox = 'kim-kill@gmail.sandbox.mailbridge.test';
    const contact = { id: 'ct_ann', email: 'ann@example.com' };
    sandbox.control.createMailbox({ provider: 'google', address: mailbox, displayName: 'Kim' });

    const firstStart = Date.now();
    await ready(spawn());
    const startupMs = Date.now() - firstStart;
    const put = await crm(`${location()}/contacts/${contact.id}`, {
      method: 'PUT',
      body: { email: contact.email, assignedUserId: USER },
    });
    expect(put.status).toBe(201);
    await connectGmail(mailbox);
    // The mailbox's start point is fixed a moment after connecting (CON-6): mail from before it is never imported, so
    // the stream starts once a first message from the contact made it into the conversation.
    const deliver = async (subject: string) =>
      (await sandbox.control.deliver(mailbox, { from: `Ann <${contact.email}>`, subject, text: subject }))
        .message.id;
    await expectEventually(
      async () => {
        const probe = await deliver(`probe ${Date.now()}`);
        await expectEventually(
          async () => expect(await conversationMessageIds(contact.id)).toContain(probe),
          {
            timeoutMs: 5_000,
            intervalMs: 250,
          },
        );
      },
      { timeoutMs: 90_000, intervalMs: 0 },
    );

    // The stream: one inbound message a second (as in the black-box run that found the loss), whether the platform is up or not (the provider keeps it).
    const delivered: string[] = [];
    let streaming = true;
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        delivered.push(await deliver(`Stream ${i}`));
        await new Promise((r) => setTimeout(r, 1_000));
      }
    })();

    // Kill instants spread over a whole start-up (as long as the first one took): while the services come up one by
    // one (the first relays publish before the later services subscribe), and once all of them run.
    const started = Date.now();
    for (let k = 0; k < KILLS; k++) {
      if (!proc) spawn();
      await new Promise((r) => setTimeout(r, Math.random() * startupMs));
      await kill();
      process.stdout.write(
        `kill ${k + 1}/${KILLS} at +${((Date.now() - started) / 1000).toFixed(1)}s, ${delivered.length} delivered\n`,
      );
    }
    await ready(spawn());
    streaming = false;
    await stream;

    // Every streamed message is in the contact's conversation, exactly once, and nothing else came in twice.
    await expectEventually(
      async () => {
        const ids = await conversationMessageIds(contact.id);
        const missing = delivered.filter((id) => !ids.includes(id));
        const duplicated = ids.filter((id, i) => ids.indexOf(id) !== i);
        expect({ missing, duplicated }).toEqual({ missing: [], duplicated: [] });
      },
      // Generous: the backlog of a whole run drains after the last restart, on a CI machine running other tests too.
      { timeoutMs: 300_000, intervalMs: 2_000 },
    );
    process.stdout.write(
      `embedded kill test: ${delivered.length} messages, ${KILLS} kills, start-up ${startupMs} ms, ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }, 900_000);
});
