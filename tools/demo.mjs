#!/usr/bin/env node
// The sandbox walkthrough: drives a running `npm start` (embedded default with the sandbox providers) the way the CRM
// and a contact would, through public surfaces only (the CRM HTTP API and the sandbox mailboxes' control API).
//
//   npm run demo -- connect [gmail|outlook]   connect Sam's sandbox mailbox for user usr_demo in location loc_demo
//   npm run demo -- send ["text"]             send an email from the CRM to the sample contact Casey
//   npm run demo -- reply ["text"]            Casey answers from her own (sandbox Gmail) mailbox
//   npm run demo -- show                      print the conversation as the CRM sees it
//   npm run demo -- walkthrough               all of the above, waiting for each step
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const jwt = require('jsonwebtoken');

const LOCATION = 'loc_demo';
const USER = 'usr_demo';
const CONTACT = { id: 'ct_casey', email: 'casey@gmail.sandbox.mailbridge.test', name: 'Casey Contact' };
const MAILBOXES = {
  gmail: 'sam@gmail.sandbox.mailbridge.test',
  outlook: 'sam@outlook.sandbox.mailbridge.test',
};

const dataDir = path.resolve(process.env.MAILBRIDGE_DATA_DIR ?? '.data');
function readJson(file) {
  const full = path.join(dataDir, file);
  if (!fs.existsSync(full)) fail(`${full} not found: start the platform first with \`npm start\`.`);
  return JSON.parse(fs.readFileSync(full, 'utf8'));
}
function fail(message) {
  console.error(`demo: ${message}`);
  process.exit(1);
}

const state = readJson('embedded.json');
const secrets = readJson('secrets.json');
if (!state.sandbox)
  fail('the platform runs without the sandbox providers (provider credentials are configured).');
const token = jwt.sign({ loc: LOCATION }, process.env.AUTH_JWT_SECRET ?? secrets.authJwtSecret, {
  subject: USER,
  algorithm: 'HS256',
  expiresIn: 3600,
});

async function call(url, { method = 'GET', body, headers = {}, auth = true } = {}) {
  const res = await fetch(url, {
    method,
    redirect: 'manual',
    headers: {
      ...(auth ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, location: res.headers.get('location') };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

async function connect(provider = 'gmail') {
  const mailbox = MAILBOXES[provider] ?? fail(`unknown provider ${provider} (gmail or outlook)`);
  const api = provider === 'gmail' ? 'google' : 'microsoft';
  const base = `${state.urls['identity-connections']}/v1/locations/${LOCATION}/users/${USER}/email-connection`;
  const auth = await call(`${base}/${api}/authorize`, {
    method: 'POST',
    body: { returnUrl: 'http://localhost/demo' },
  });
  if (auth.status !== 200) fail(`authorize answered ${auth.status}: ${JSON.stringify(auth.body)}`);
  // The CLI plays the user's browser: it picks Sam's mailbox on the consent screen (login_hint) and follows redirects.
  let next = `${auth.body.authorizeUrl}&login_hint=${encodeURIComponent(mailbox)}`;
  for (let hops = 0; hops < 10 && next && !next.startsWith('http://localhost/demo'); hops++) {
    const res = await call(next, { auth: false });
    next = res.location ? new URL(res.location, next).toString() : undefined;
  }
  const result = next ? new URL(next).searchParams : undefined;
  if (result?.get('status') !== 'connected') fail(`connect failed: ${next ?? 'no redirect back'}`);
  const status = await call(base);
  if (status.status !== 200) fail(`status answered ${status.status}: ${JSON.stringify(status.body)}`);
  console.log(
    `connected ${status.body.emailAddress} (${status.body.provider}) for ${USER} in ${LOCATION}: ${status.body.status}`,
  );
}

async function ensureContact() {
  const res = await call(`${state.urls.conversations}/v1/locations/${LOCATION}/contacts/${CONTACT.id}`, {
    method: 'PUT',
    body: { email: CONTACT.email, name: CONTACT.name, assignedUserId: USER },
  });
  if (res.status >= 300) fail(`contact upsert answered ${res.status}: ${JSON.stringify(res.body)}`);
}

async function send(text = 'Hi Casey, here is the quote we discussed.') {
  await ensureContact();
  const res = await call(
    `${state.urls.conversations}/v1/locations/${LOCATION}/contacts/${CONTACT.id}/emails`,
    {
      method: 'POST',
      headers: { 'Idempotency-Key': randomUUID() },
      body: { kind: 'individual', userId: USER, subject: 'Your quote', text },
    },
  );
  if (res.status !== 202) fail(`send answered ${res.status}: ${JSON.stringify(res.body)}`);
  console.log(`sent from the CRM: message ${res.body.messageId} (${res.body.status})`);
  const sent = await waitFor('the email to leave through the mailbox', async () => {
    const m = await call(
      `${state.urls.conversations}/v1/locations/${LOCATION}/messages/${res.body.messageId}`,
    );
    return m.body?.status === 'sent' || m.body?.status === 'failed' ? m.body : undefined;
  });
  if (sent.status === 'failed') fail(`the send failed: ${JSON.stringify(sent)}`);
  console.log(`delivered: it is in ${CONTACT.email}'s inbox and in Sam's Sent folder`);
}

async function reply(text = 'Thanks Sam, looks good!') {
  const control = `${state.sandbox.google}/_sandbox/mailboxes/${encodeURIComponent(CONTACT.email)}`;
  const inbox = await waitFor("the CRM's email in Casey's inbox", async () => {
    const box = await call(control, { auth: false });
    return box.body?.inbox?.length ? box.body.inbox : undefined;
  });
  const latest = inbox[inbox.length - 1];
  const res = await call(`${control}/send`, {
    method: 'POST',
    auth: false,
    body: { replyTo: latest.messageId ?? latest.id, text },
  });
  if (res.status >= 300) fail(`the sandbox refused the reply: ${JSON.stringify(res.body)}`);
  console.log(`Casey replied from her mailbox: "${text}"`);
}

async function messages() {
  const convs = await call(
    `${state.urls.conversations}/v1/locations/${LOCATION}/conversations?contactId=${CONTACT.id}`,
  );
  const conversation = convs.body?.items?.[0];
  if (!conversation) return [];
  const list = await call(
    `${state.urls.conversations}/v1/locations/${LOCATION}/conversations/${conversation.id}/messages`,
  );
  return list.body?.items ?? [];
}

async function show() {
  const items = await messages();
  if (items.length === 0) return console.log('(no conversation yet)');
  console.log(`Conversation with ${CONTACT.name} <${CONTACT.email}> in ${LOCATION}:`);
  for (const m of items) {
    const who = m.direction === 'outbound' ? 'Sam  ->' : 'Casey->';
    console.log(
      `  ${m.sentAt}  ${who} [${m.source}/${m.status}] ${m.subject}: ${(m.text ?? '').split('\n')[0]}`,
    );
  }
}

async function walkthrough() {
  await connect('gmail');
  await send();
  // A person takes more than a second between steps. Date headers have one-second resolution, and a reply dated within
  // the same second as the CRM's send is listed before it (a known ordering bug in conversations, see the issue note).
  await sleep(1_500);
  await reply();
  await waitFor("Casey's reply in the CRM conversation", async () =>
    (await messages()).some((m) => m.direction === 'inbound'),
  );
  await show();
}

const [command = 'walkthrough', arg] = process.argv.slice(2);
const commands = { connect, send, reply, show, walkthrough };
if (!commands[command]) fail(`unknown command ${command}: ${Object.keys(commands).join(', ')}`);
await commands[command](arg);
