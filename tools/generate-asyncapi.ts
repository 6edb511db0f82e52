// Writes docs/asyncapi.yaml from the event catalog (run: npm run docs:asyncapi). A test fails when it is stale.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { buildAsyncApiDocument, eventCatalog } from '@mailbridge/contracts';

export const ASYNCAPI_PATH = path.join(__dirname, '..', 'docs', 'asyncapi.yaml');

export function renderAsyncApi(): string {
  const version = (
    JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  return `# Generated from libs/contracts by \`npm run docs:asyncapi\`. Do not edit by hand.\n${stringify(
    buildAsyncApiDocument(eventCatalog, version),
    { aliasDuplicateObjects: false },
  )}`;
}

if (require.main === module) {
  fs.mkdirSync(path.dirname(ASYNCAPI_PATH), { recursive: true });
  fs.writeFileSync(ASYNCAPI_PATH, renderAsyncApi());
  process.stdout.write(`wrote ${path.relative(process.cwd(), ASYNCAPI_PATH)}\n`);
}
