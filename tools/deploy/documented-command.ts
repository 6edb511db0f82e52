// The start command the README documents for a service (`node dist/apps/<app>/apps/<app>/src/main.js`). The
// Dockerfile's CMD, the chart's migration Job and the compose file must run exactly this; their tests read it here.
import fs from 'node:fs';
import path from 'node:path';
import { WORKSPACE_ROOT } from './env-scan';

const DOCUMENTED = /node (dist\/apps\/([a-z-]+)\/apps\/\2\/src\/main\.js)/;

/** The README's start command with the app's name replaced, as an argv: ['node', 'dist/apps/<app>/.../main.js']. */
export function documentedStartCommand(
  app: string,
  readme = path.join(WORKSPACE_ROOT, 'README.md'),
): string[] {
  const match = DOCUMENTED.exec(fs.readFileSync(readme, 'utf8'));
  if (!match) throw new Error(`${readme} no longer documents "node dist/apps/<app>/apps/<app>/src/main.js"`);
  const [, entry, documentedApp] = match;
  return ['node', entry.split(documentedApp).join(app)];
}

/** The README's migration command (`... main.js migrate`), as an argv. */
export function documentedMigrateCommand(
  app: string,
  readme = path.join(WORKSPACE_ROOT, 'README.md'),
): string[] {
  const text = fs.readFileSync(readme, 'utf8');
  const start = documentedStartCommand(app, readme);
  if (!/node dist\/apps\/([a-z-]+)\/apps\/\1\/src\/main\.js migrate/.test(text))
    throw new Error(`${readme} no longer documents "main.js migrate"`);
  return [...start, 'migrate'];
}
