// `npm run soak [-- --minutes N --mode embedded|distributed|both --seed S --log-dir DIR]`: the fault soak.
// Runs the platform against the sandbox providers (their own process) for a few minutes with a seeded random mix of
// inbound mail (contacts, strangers, hostile MIME, reused Message-IDs), owner sends, CRM sends, kill -9, notification
// faults, 429/5xx storms, expired history, token revocation and re-consent; waits (bounded) until the platform is quiet;
// then reconciles by provider id. Exit code 1 on any loss, duplicate or double send; 2 when it could not run.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Answer, call, connectMailbox, crmToken } from './crm-client';
import { HostileVariant, Step, hostileMime, mixCounts, planSteps, seededRandom } from './mix';
import { freePortBase, sleep, waitFor } from './processes';
import { Platform, Sandbox, startDistributed, startEmbedded, startSandbox } from './platforms';
import {
  CrmSend,
  DeliveredMessage,
  Reconciliation,
  RecordedCrmMessage,
  RecordedSyncEvent,
  hasMarker,
  reconcile,
  summaryLine,
} from './reconcile';

interface Options {
  minutes: number;
  modes: Array<'embedded' | 'distributed'>;
  seed: number;
  logDir: string | undefined;
  without: Set<string>;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    minutes: 3,
    modes: ['embedded', 'distributed'],
    seed: 1,
    logDir: undefined,
    without: new Set(),
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--minutes') o.minutes = Number(value());
    else if (flag === '--seed') o.seed = Number(value());
    else if (flag === '--log-dir') o.logDir = path.resolve(value());
    else if (flag === '--without') for (const k of value().split(',')) o.without.add(k.trim());
    else if (flag === '--mode') {
      const mode = value();
      if (mode === 'both') o.modes = ['embedded', 'distributed'];
      else if (mode === 'embedded' || mode === 'distributed') o.modes = [mode];
      else usage(`unknown mode ${mode}`);
    } else usage(`unknown option ${argv[i]}`);
  }
  if (!(o.minutes > 0 && o.minutes <= 120)) usage('--minutes must be a number in (0, 120]');
  if (!Number.isInteger(o.seed)) usage('--seed must be an integer');
  return o;
}

function usage(problem: string): never {
  process.stderr.write(
    `soak: ${problem}\nusage: npm run soak -- [--minutes N] [--mode embedded|distributed|both] [--seed S] [--log-dir DIR] [--without kill,nul-subject,…]\n`,
  );
  process.exit(2);
}

const LOCATION = 'loc_soak';
const STEP_MS = 1_500;
/** After the traffic, the platform must settle: no progress for this long ends the wait. */
const QUIET_MS = 150_000;
/** The wait never lasts longer than this, whatever happens. */
const SETTLE_CAP_MS = 8 * 60_000;
const RETURN_URL = 'http://localhost/soak/connected';

interface User {
  readonly id: string;
  readonly provider: 'google' | 'microsoft';
  readonly mailbox: string;
  readonly contacts: ReadonlyArray<{ id: string; email: string }>;
}

function users(): User[] {
  const contacts = (tag: string) =>
    [0, 1, 2].map((i) => ({ id: `ct_soak_${tag}${i}`, email: `contact${i}.${tag}@contacts.soak.test` }));
  return [
    {
      id: 'usr_soak_g',
      provider: 'google',
      mailbox: 'sam@gmail.sandbox.mailbridge.test',
      contacts: contacts('g'),
    },
    {
      id: 'usr_soak_o',
      provider: 'microsoft',
      mailbox: 'sam@outlook.sandbox.mailbridge.test',
      contacts: contacts('o'),
    },
  ];
}

/** A message as the CRM API lists it (docs/crm-api.md), the fields the soak reads. */
interface CrmMessageJson {
  id: string;
  source: string;
  status: string;
  subject: string | null;
  provider: { name: string | null; messageId: string | null } | null;
  failure: { code: string; message: string } | null;
}

/** One mode's run: the plan executed against one platform, then the verdict. */
class SoakRun {
  readonly delivered: DeliveredMessage[] = [];
  readonly sends: CrmSend[] = [];
  readonly messageIds: string[] = [];
  readonly background = new Set<Promise<void>>();
  readonly notes: string[] = [];
  readonly extra: Record<string, number> = {};
  private killing = false;
  private readonly faulted = new Set<string>();
  private readonly reconsenting = new Set<string>();
  private counter = 0;
  private probes = 0;

  constructor(
    readonly platform: Platform,
    readonly sandbox: Sandbox,
    readonly users: User[],
    readonly seed: number,
  ) {}

  token(userId: string): string {
    return crmToken(this.platform.authJwtSecret, LOCATION, userId);
  }

  private count(what: string): void {
    this.extra[what] = (this.extra[what] ?? 0) + 1;
  }

  private spawnTask(task: () => Promise<void>): void {
    const p = task()
      .catch((error: unknown) => {
        this.notes.push(`background task failed: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => this.background.delete(p));
    this.background.add(p);
  }

  private control<T = { message: { id: string } }>(pathAndQuery: string, method = 'GET', body?: unknown) {
    return call<T>(`${this.sandbox.controlUrl}/_sandbox${pathAndQuery}`, { method, body });
  }

  /** Probes count apart: how many it takes depends on timing, and the mix's markers must not. */
  private marker(prefix: string): string {
    return prefix === 'p' ? `p${this.seed}x${++this.probes}` : `${prefix}${this.seed}x${++this.counter}`;
  }

  // ---- setup ----

  async setUp(): Promise<void> {
    const conv = `${this.platform.urls.conversations}/v1/locations/${LOCATION}`;
    for (const user of this.users)
      for (const c of user.contacts) {
        const res = await call(`${conv}/contacts/${c.id}`, {
          method: 'PUT',
          token: this.token(user.id),
          body: { email: c.email, name: `Soak ${c.id}`, assignedUserId: user.id },
        });
        if (res.status !== 200 && res.status !== 201)
          throw new Error(`PUT contact answered ${res.status}: ${JSON.stringify(res.body)}`);
      }
    const wanted = this.users.flatMap((u) => u.contacts.map((c) => c.id));
    await waitFor(
      "sync-engine's contact projection",
      async () => {
        const res = await call<{ items: Array<{ contactId: string }> }>(
          `${this.platform.urls['sync-engine']}/internal/contacts?locationId=${LOCATION}`,
          { token: this.platform.internalApiToken },
        );
        return res.status === 200 && wanted.every((id) => res.body.items.some((c) => c.contactId === id));
      },
      60_000,
    );
    for (const user of this.users) {
      await this.connect(user);
      // The mail "one millisecond after connected" (loss path 4) must have an outcome like any later message. On
      // Outlook the scope is still crm_threads here, so it comes from a stranger: its outcome is a decision.
      await this.deliverMail(
        user,
        user.provider === 'google' ? 'contact' : 'stranger',
        0,
        'plain',
        'right-after-connect',
      );
      if (user.provider === 'microsoft') {
        const res = await call(this.connectionUrl(user), {
          method: 'PATCH',
          token: this.token(user.id),
          body: { syncScope: 'contact_mail' },
        });
        if (res.status !== 200) throw new Error(`PATCH syncScope answered ${res.status}`);
      }
    }
    for (const user of this.users) await this.waitUntilObserved(user);
  }

  private connectionUrl(user: User): string {
    return `${this.platform.urls['identity-connections']}/v1/locations/${LOCATION}/users/${user.id}/email-connection`;
  }

  /** The OAuth dance as the user's browser does it (the emulator consents at once for the login_hint mailbox). */
  async connect(user: User): Promise<void> {
    await connectMailbox({
      identityConnectionsUrl: this.platform.urls['identity-connections'],
      token: this.token(user.id),
      locationId: LOCATION,
      userId: user.id,
      provider: user.provider,
      mailbox: user.mailbox,
      returnUrl: RETURN_URL,
    });
  }

  /** Delivers stranger probes until sync-engine has decided one: the watch and the baseline are in place. */
  private async waitUntilObserved(user: User): Promise<void> {
    await waitFor(
      `${user.mailbox} to be watched`,
      async () => {
        const id = await this.deliverMail(user, 'stranger', 0, 'plain', 'probe');
        for (let i = 0; i < 20; i++) {
          await sleep(500);
          if ((await this.decisions(id)).length > 0) return true;
        }
        return false;
      },
      180_000,
      0,
    );
  }

  // ---- the mix ----

  async deliverMail(
    user: User,
    from: 'contact' | 'stranger',
    contact: number,
    variant: 'plain' | HostileVariant,
    label: string = variant,
    reuseMessageId?: string,
  ): Promise<string> {
    const marker = this.marker(label === 'probe' ? 'p' : 'm');
    const sender =
      from === 'contact' ? user.contacts[contact].email : `stranger.${marker}@strangers.soak.test`;
    const subject = `soak ${marker} ${label}`;
    const messageId = reuseMessageId ?? `<${marker}.${randomUUID()}@soak.test>`;
    const input =
      variant === 'plain'
        ? { from: sender, subject, text: `soak message ${marker}`, messageId }
        : { raw: hostileMime(variant, { from: sender, to: user.mailbox, subject, messageId, marker }) };
    const res = await this.control(`/mailboxes/${encodeURIComponent(user.mailbox)}/deliver`, 'POST', input);
    if (res.status !== 201)
      throw new Error(`the sandbox refused a delivery (${res.status}): ${JSON.stringify(res.body)}`);
    this.messageIds.push(messageId);
    this.delivered.push({
      providerId: res.body.message.id,
      userId: user.id,
      kind: from,
      variant: label,
      subject,
      deliveredAt: new Date().toISOString(),
    });
    return res.body.message.id;
  }

  private async ownerSend(user: User, contact: number): Promise<void> {
    const marker = this.marker('o');
    const subject = `soak ${marker} owner`;
    const res = await this.control(`/mailboxes/${encodeURIComponent(user.mailbox)}/send`, 'POST', {
      to: [user.contacts[contact].email],
      subject,
      text: `written in the mailbox ${marker}`,
    });
    if (res.status !== 201) throw new Error(`the sandbox refused an owner send (${res.status})`);
    this.delivered.push({
      providerId: res.body.message.id,
      userId: user.id,
      kind: 'owner',
      variant: 'owner-send',
      subject,
      deliveredAt: new Date().toISOString(),
    });
  }

  /** A CRM send, retried with the same Idempotency-Key while the platform does not answer (SND-6). */
  private crmSend(user: User, contact: number): void {
    const marker = this.marker('s');
    const key = randomUUID();
    const send = { marker, userId: user.id, idempotencyKey: key, crmMessageId: null as string | null };
    this.sends.push(send);
    const url = `${this.platform.urls.conversations}/v1/locations/${LOCATION}/contacts/${user.contacts[contact].id}/emails`;
    this.spawnTask(async () => {
      const deadline = Date.now() + 180_000;
      for (let attempt = 1; Date.now() < deadline; attempt++) {
        const res = await call<{ messageId: string }>(url, {
          method: 'POST',
          token: this.token(user.id),
          headers: { 'Idempotency-Key': key },
          body: {
            kind: 'individual',
            userId: user.id,
            subject: `soak ${marker} crm`,
            text: `from the CRM ${marker}`,
          },
        });
        if (res.status === 202) {
          send.crmMessageId = res.body.messageId;
          if (attempt > 1) this.count('crm-send:retried-after-no-answer');
          return;
        }
        if (res.status !== 0 && res.status < 500 && res.status !== 429) {
          this.count(`crm-send:refused-${res.status}`);
          return;
        }
        await sleep(2_000);
      }
      this.count('crm-send:never-answered');
    });
  }

  private kill(target: number, downMs: number): void {
    if (this.killing) return this.count('kill:skipped-while-down');
    this.killing = true;
    this.spawnTask(async () => {
      try {
        await this.platform.kill(target);
        await sleep(downMs);
        await this.platform.restart(target);
      } finally {
        this.killing = false;
      }
    });
  }

  private notifications(step: Extract<Step, { kind: 'notifications' }>): void {
    const key = `notifications:${step.provider}`;
    if (this.faulted.has(key)) return this.count('notifications:skipped-overlapping');
    this.faulted.add(key);
    const behaviour = {
      drop: step.mode === 'drop',
      duplicate: step.mode === 'duplicate',
      hold: step.mode === 'hold',
      delayMs: step.mode === 'delay' ? 4_000 : 0,
    };
    this.spawnTask(async () => {
      try {
        await this.control('/notifications', 'PUT', { provider: step.provider, ...behaviour });
        await sleep(step.forMs);
      } finally {
        await this.resetNotifications(step.provider);
        this.faulted.delete(key);
      }
    });
  }

  private async resetNotifications(provider: 'google' | 'microsoft' | 'all'): Promise<void> {
    await this.control('/notifications', 'PUT', {
      provider,
      drop: false,
      duplicate: false,
      hold: false,
      delayMs: 0,
    });
    await this.control('/notifications/release', 'POST', { provider });
  }

  private revoke(user: User, reconsentAfterMs: number): void {
    if (this.reconsenting.has(user.id)) return this.count('revoke:skipped-overlapping');
    this.reconsenting.add(user.id);
    this.spawnTask(async () => {
      try {
        await this.control(`/mailboxes/${encodeURIComponent(user.mailbox)}/revoke-tokens`, 'POST', {});
        // Microsoft keeps an access token valid until it expires; expire it so the revocation bites now.
        await this.control(`/mailboxes/${encodeURIComponent(user.mailbox)}/expire-access-tokens`, 'POST', {});
        await sleep(reconsentAfterMs);
        await waitFor(
          `re-consent of ${user.mailbox}`,
          () => this.connect(user).then(() => true),
          120_000,
          2_000,
        );
      } finally {
        this.reconsenting.delete(user.id);
      }
    });
  }

  async runStep(step: Step): Promise<void> {
    switch (step.kind) {
      case 'mail':
        await this.deliverMail(this.users[step.user], step.from, step.contact, step.variant);
        return;
      case 'reused-message-id': {
        const reused = this.messageIds.length
          ? this.messageIds[step.contact % this.messageIds.length]
          : undefined;
        await this.deliverMail(
          this.users[step.user],
          step.from,
          step.contact,
          'plain',
          'reused-message-id',
          reused,
        );
        return;
      }
      case 'owner-send':
        return this.ownerSend(this.users[step.user], step.contact);
      case 'crm-send':
        return this.crmSend(this.users[step.user], step.contact);
      case 'kill':
        return this.kill(step.target % this.platform.killTargets.length, step.downMs);
      case 'notifications':
        return this.notifications(step);
      case 'storm': {
        const user = this.users[step.user];
        await this.control('/faults', 'POST', {
          target: user.provider === 'google' ? 'gmail' : 'graph',
          status: step.status,
          count: step.count,
          mailbox: user.mailbox,
          ...(step.status === 429 ? { retryAfterSeconds: 2 } : {}),
        });
        return;
      }
      case 'expire-history': {
        const user = this.users[step.user];
        await this.control(
          `/mailboxes/${encodeURIComponent(user.mailbox)}/${user.provider === 'google' ? 'expire-history' : 'expire-delta'}`,
          'POST',
          {},
        );
        return;
      }
      case 'revoke':
        return this.revoke(this.users[step.user], step.reconsentAfterMs);
    }
  }

  /** Faults end, every process runs, every connection is active again: from here on the platform owes the rest. */
  async endFaults(): Promise<void> {
    const deadline = Date.now() + 300_000;
    while (this.background.size > 0 && Date.now() < deadline)
      await Promise.race([...this.background, sleep(1_000)]);
    if (this.background.size > 0) this.notes.push(`${this.background.size} background tasks still running`);
    await this.control('/faults', 'DELETE');
    await this.resetNotifications('all');
    await this.platform.ensureRunning();
    for (const user of this.users) {
      const status = await call<{ status: string }>(this.connectionUrl(user), { token: this.token(user.id) });
      if (status.body?.status !== 'active') {
        this.notes.push(
          `${user.mailbox} was ${status.body?.status ?? status.status} after the traffic: re-consented`,
        );
        await waitFor(
          `re-consent of ${user.mailbox}`,
          () => this.connect(user).then(() => true),
          120_000,
          2_000,
        );
      }
    }
  }

  // ---- what the platform recorded ----

  async decisions(providerId: string): Promise<string[]> {
    const res = await call<{ messages: Array<{ outcome: string; rules: string[] }> }>(
      `${this.platform.urls['sync-engine']}/internal/decisions?messageId=${encodeURIComponent(providerId)}`,
      { token: this.platform.internalApiToken },
    );
    if (res.status !== 200) throw new Error(`GET /internal/decisions answered ${res.status}`);
    return res.body.messages.map((m) => `${m.outcome} ${m.rules.join('+')}`.trim());
  }

  private async pages<T>(url: string, token: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 200; page++) {
      const sep = url.includes('?') ? '&' : '?';
      const res: Answer<{ items: T[]; nextCursor: string | null }> = await call(
        `${url}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { token },
      );
      if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
      items.push(...res.body.items);
      cursor = res.body.nextCursor;
      if (!cursor) return items;
    }
    throw new Error(`GET ${url}: more than 200 pages`);
  }

  async reconcileNow(): Promise<Reconciliation> {
    const conv = `${this.platform.urls.conversations}/v1/locations/${LOCATION}`;
    const token = this.token(this.users[0].id);
    const crmMessages: RecordedCrmMessage[] = [];
    for (const user of this.users)
      for (const c of user.contacts) {
        const conversations = await this.pages<{ id: string }>(
          `${conv}/conversations?contactId=${c.id}`,
          token,
        );
        for (const conversation of conversations) {
          const list = await this.pages<CrmMessageJson>(
            `${conv}/conversations/${conversation.id}/messages`,
            token,
          );
          for (const m of list)
            crmMessages.push({
              id: m.id,
              source: m.source,
              status: m.status,
              subject: m.subject ?? '',
              providerMessageId: m.provider?.messageId ?? null,
              providerName: m.provider?.name ?? null,
              failure: m.failure ?? null,
            });
        }
      }
    const syncEvents = await this.pages<RecordedSyncEvent>(`${conv}/sync-events`, token);
    const sentCopies = new Map<string, number>();
    for (const user of this.users) {
      const box = await this.control<{ sent: Array<{ subject: string }> }>(
        `/mailboxes/${encodeURIComponent(user.mailbox)}`,
      );
      if (box.status !== 200) throw new Error(`the sandbox mailbox view answered ${box.status}`);
      for (const m of box.body.sent)
        for (const s of this.sends)
          if (hasMarker(m.subject, s.marker)) sentCopies.set(s.marker, (sentCopies.get(s.marker) ?? 0) + 1);
    }
    // The decision record is asked only about what the CRM did not show: strangers, and the detail of a loss.
    const inCrm = new Set(crmMessages.map((m) => m.providerMessageId));
    const skipped = new Set(syncEvents.map((e) => e.providerMessageId));
    const decisions = new Map<string, string[]>();
    for (const d of this.delivered)
      if (!inCrm.has(d.providerId) && !skipped.has(d.providerId))
        decisions.set(d.providerId, await this.decisions(d.providerId));
    return reconcile(this.delivered, this.sends, { crmMessages, syncEvents, decisions, sentCopies });
  }

  /** Waits until nothing is owed, or nothing changed for QUIET_MS, or SETTLE_CAP_MS passed; returns the verdict. */
  async settle(): Promise<Reconciliation> {
    const started = Date.now();
    let last = '';
    let changedAt = Date.now();
    for (;;) {
      const r = await this.reconcileNow().catch((error: unknown) => {
        this.notes.push(`reconcile failed once: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
      if (r) {
        const signature = `${r.accounted}/${r.lost.length}/${r.duplicated.length}/${r.doubleSent.length}`;
        if (signature !== last) {
          last = signature;
          changedAt = Date.now();
          log(`  settling: ${summaryLine(r).replace('soak: ', '')}`);
        }
        if (r.lost.length === 0) return r;
        if (Date.now() - changedAt > QUIET_MS || Date.now() - started > SETTLE_CAP_MS) return r;
      } else if (Date.now() - started > SETTLE_CAP_MS)
        throw new Error('the platform never answered the reconciliation');
      await sleep(5_000);
    }
  }
}

// The soak is a command-line tool: its output is the report.
const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const log = (line: string) => out(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

interface ModeResult {
  mode: string;
  result?: Reconciliation;
  mix: Record<string, number>;
  notes: string[];
  error?: string;
}

async function runMode(mode: 'embedded' | 'distributed', o: Options, workDir: string): Promise<ModeResult> {
  const dir = path.join(workDir, mode);
  fs.mkdirSync(dir, { recursive: true });
  const logDir = o.logDir ?? dir;
  fs.mkdirSync(logDir, { recursive: true });
  const random = seededRandom(o.seed ^ 0x5eed);
  let sandbox: Sandbox | undefined;
  let platform: Platform | undefined;
  const mix: Record<string, number> = {};
  const notes: string[] = [];
  try {
    // Fixed ports for the whole run: a restarted process must come back where webhooks and redirects point.
    const portBase = await freePortBase(random);
    const ports = [1, 2, 3, 4].map((i) => portBase + i);
    const mailGatewayUrl = `http://127.0.0.1:${ports[1]}`;
    log(`${mode}: starting the sandbox providers and the platform`);
    sandbox = await startSandbox(
      dir,
      o.seed,
      `${mailGatewayUrl}/v1/webhooks/gmail`,
      path.join(logDir, `${mode}-sandbox.log`),
    );
    platform =
      mode === 'embedded'
        ? await startEmbedded(dir, portBase, sandbox, path.join(logDir, 'embedded.log'))
        : await startDistributed(dir, sandbox, ports, logDir);
    const run = new SoakRun(platform, sandbox, users(), o.seed);
    await run.setUp();
    const steps = planSteps({
      seed: o.seed,
      steps: Math.round((o.minutes * 60_000) / STEP_MS),
      users: run.users.length,
      contactsPerUser: 3,
      killTargets: platform.killTargets.length,
      without: o.without,
    });
    Object.assign(mix, mixCounts(steps));
    log(`${mode}: connected; ${steps.length} steps over ${o.minutes} min (seed ${o.seed})`);
    const t0 = Date.now();
    for (const [i, step] of steps.entries()) {
      const due = t0 + i * STEP_MS;
      if (Date.now() < due) await sleep(due - Date.now());
      try {
        await run.runStep(step);
      } catch (error) {
        // The sandbox is not under test; a step it refused is reported, never silently counted.
        notes.push(
          `step ${i} (${step.kind}) failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if ((i + 1) % 40 === 0)
        log(
          `${mode}: ${i + 1}/${steps.length} steps, ${run.delivered.length} delivered, ${run.sends.length} CRM sends`,
        );
    }
    log(`${mode}: traffic done; ending the faults and waiting for the platform to settle`);
    await run.endFaults();
    const result = await run.settle();
    for (const [k, v] of Object.entries(run.extra)) mix[k] = v;
    notes.push(...run.notes);
    return { mode, result, mix, notes };
  } catch (error) {
    return {
      mode,
      mix,
      notes,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  } finally {
    await platform?.stop().catch(() => undefined);
    await sandbox?.stop().catch(() => undefined);
  }
}

function report(r: ModeResult): void {
  out(`\n== ${r.mode} ==`);
  out(
    `mix: ${Object.entries(r.mix)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  for (const note of r.notes.slice(0, 20)) out(`note: ${note}`);
  const res = r.result;
  if (!res) return out(`could not complete: ${r.error ?? 'no result'}`);
  out(
    `accounted by: ${Object.entries(res.accountedBy)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  for (const [label, list] of [
    ['lost', res.lost],
    ['duplicated', res.duplicated],
    ['double-sent', res.doubleSent],
  ] as const) {
    for (const f of list.slice(0, 50)) out(`${label}: ${f.id} ${f.what}`);
    if (list.length > 50) out(`${label}: … and ${list.length - 50} more`);
  }
  out(`soak[${r.mode}]: ${summaryLine(res).replace('soak: ', '')}`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-soak-'));
  let interrupted = false;
  const cleanUp = () => fs.rmSync(workDir, { recursive: true, force: true });
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(
        `soak: ${signal}: stopping (a distributed run's database mb_soak_* is left behind)\n`,
      );
      cleanUp();
      process.exit(130); // the exit hook kills every process the soak started
    });
  log(
    `soak: ${o.minutes} min per mode, modes ${o.modes.join(' + ')}, seed ${o.seed}` +
      (o.without.size ? `, without ${[...o.without].join(', ')}` : ''),
  );
  const results: ModeResult[] = [];
  for (const mode of o.modes) results.push(await runMode(mode, o, workDir));
  if (!interrupted) cleanUp();
  for (const r of results) report(r);
  const sum = (f: (x: Reconciliation) => number) =>
    results.reduce((a, r) => a + (r.result ? f(r.result) : 0), 0);
  const failed = results.some((r) => r.error);
  const line = `soak: ${sum((x) => x.delivered)} delivered, ${sum((x) => x.accounted)} accounted, ${sum((x) => x.lost.length)} lost, ${sum((x) => x.duplicated.length)} duplicated, ${sum((x) => x.doubleSent.length)} double-sent`;
  out('');
  if (failed)
    out(
      `soak: a mode could not complete (${results
        .filter((r) => r.error)
        .map((r) => r.mode)
        .join(', ')})`,
    );
  out(line);
  const bad = sum((x) => x.lost.length + x.duplicated.length + x.doubleSent.length);
  process.exit(failed ? 2 : bad > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});
