/**
 * Where a finished connect flow may send the browser. An allow-list entry is an origin (`https://crm.example.com`,
 * which admits any path and port of that host) or a URL prefix (`https://crm.example.com/settings/`). Matching is
 * on the parsed, normalised URL, with a boundary after the entry, so `http://localhost.evil.test` or
 * `http://localhost@evil.test` never pass for `http://localhost`.
 */
export function isReturnUrlAllowed(candidate: string, allowlist: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username || url.password) return false;
  const href = url.href;
  return allowlist.some((raw) => {
    const entry = normaliseEntry(raw);
    if (!entry || !href.toLowerCase().startsWith(entry.toLowerCase())) return false;
    if (entry.endsWith('/')) return true;
    const next = href.charAt(entry.length);
    return next === '' || next === '/' || next === '?' || next === '#' || (next === ':' && !hasPath(entry));
  });
}

function hasPath(entry: string): boolean {
  return /^https?:\/\/[^/]+\/./i.test(entry);
}

/** `HTTP://LocalHost/` → `http://localhost` (an origin without its trailing slash, so a port may follow). */
function normaliseEntry(raw: string): string | undefined {
  const trimmed = raw.trim();
  try {
    const u = new URL(trimmed);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    const path = u.pathname === '/' && !trimmed.endsWith('/') ? '' : u.pathname;
    const port = u.port ? `:${u.port}` : '';
    return `${u.protocol}//${u.hostname}${port}${path === '/' ? '' : path}`;
  } catch {
    return undefined;
  }
}

/** The return URL with the outcome appended (existing query kept). */
export function withOutcome(returnUrl: string, outcome: Record<string, string>): string {
  const url = new URL(returnUrl);
  for (const [k, v] of Object.entries(outcome)) url.searchParams.set(k, v);
  return url.toString();
}
