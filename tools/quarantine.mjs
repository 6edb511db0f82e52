#!/usr/bin/env node
// Lists or retries a service's quarantined events (SYN-10) through its /internal/quarantine routes.
//   npm run quarantine -- list <service-url> [--status quarantined|resolved] [--limit 50] [--after <id>]
//   npm run quarantine -- retry <service-url> <id>
// The internal service token comes from INTERNAL_API_TOKEN, else the embedded data folder's secrets.json.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const USAGE =
  'usage: npm run quarantine -- list <service-url> [--status quarantined|resolved] [--limit n] [--after id]\n' +
  '       npm run quarantine -- retry <service-url> <id>';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    status: { type: 'string' },
    limit: { type: 'string' },
    after: { type: 'string' },
  },
});
const [command, serviceUrl, id] = positionals;
if (!serviceUrl || !['list', 'retry'].includes(command) || (command === 'retry' && !id)) {
  console.error(USAGE);
  process.exit(2);
}

function internalToken() {
  if (process.env.INTERNAL_API_TOKEN) return process.env.INTERNAL_API_TOKEN;
  const file = path.resolve(process.env.MAILBRIDGE_DATA_DIR ?? '.data', 'secrets.json');
  if (!fs.existsSync(file)) {
    console.error(`No ${file}: set INTERNAL_API_TOKEN or start the platform once (npm start).`);
    process.exit(2);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')).internalApiToken;
}

const base = serviceUrl.replace(/\/+$/, '');
const url =
  command === 'list'
    ? `${base}/internal/quarantine?${new URLSearchParams(
        Object.entries(values).filter(([, v]) => v !== undefined),
      )}`
    : `${base}/internal/quarantine/${encodeURIComponent(id)}/retry`;
const res = await fetch(url, {
  method: command === 'list' ? 'GET' : 'POST',
  headers: { Authorization: `Bearer ${internalToken()}` },
  signal: AbortSignal.timeout(60_000),
});
const body = await res.text();
process.stdout.write(`${body}\n`);
if (!res.ok) {
  console.error(`${res.status} from ${url}`);
  process.exit(1);
}
// A retry that failed again leaves the item quarantined: say so in the exit code, for scripts.
if (command === 'retry' && JSON.parse(body).outcome === 'failed') process.exit(1);
