import { escapeHtml } from './http-kit';

/**
 * How the authorize endpoints answer. `auto` (default): consent at once when `login_hint` names a sandbox mailbox,
 * otherwise show the picker page. `approve`: consent as `as` (or the hinted mailbox) without a page. `deny`: the
 * user refuses (`error=access_denied`). `page`: always show the picker.
 */
export interface ConsentSettings {
  mode: 'auto' | 'approve' | 'deny' | 'page';
  as?: string;
  /** Granular consent: the user leaves only these of the requested scopes ticked. */
  grantScopes?: string[];
}

export interface PendingAuthorization {
  id: string;
  params: URLSearchParams;
  createdAt: number;
}

/** Authorization requests waiting for a human on the consent page. */
export class PendingAuthorizations {
  private readonly pending = new Map<string, PendingAuthorization>();

  add(id: string, params: URLSearchParams, now: number): void {
    this.pending.set(id, { id, params, createdAt: now });
    if (this.pending.size > 500) this.pending.delete(this.pending.keys().next().value ?? '');
  }

  take(id: string): PendingAuthorization | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }
}

export function renderConsentPage(input: {
  title: string;
  clientId: string;
  scopes: string[];
  mailboxes: { address: string; name: string }[];
  action: string;
  requestId: string;
}): string {
  const accounts =
    input.mailboxes.length === 0
      ? '<p>No sandbox mailboxes yet. Create one with <code>POST /_sandbox/mailboxes</code>.</p>'
      : input.mailboxes
          .map(
            (m) =>
              `<li><button name="email" value="${escapeHtml(m.address)}">${escapeHtml(m.name)} &lt;${escapeHtml(m.address)}&gt;</button></li>`,
          )
          .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)} (sandbox)</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
button{font:inherit;padding:.4rem .8rem;margin:.2rem 0;cursor:pointer}li{list-style:none}
.deny{background:none;border:none;color:#a00;text-decoration:underline}code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<p>Sandbox consent screen. Application <code>${escapeHtml(input.clientId)}</code> asks for:</p>
<ul>${input.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="request" value="${escapeHtml(input.requestId)}">
<p>Choose an account to continue:</p>
<ul>${accounts}</ul>
<p><button class="deny" name="deny" value="1">Cancel (deny access)</button></p>
</form>
</body></html>`;
}
