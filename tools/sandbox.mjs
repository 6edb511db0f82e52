#!/usr/bin/env node
// `npm run sandbox`: the provider emulators alone (Gmail, Pub/Sub push, Google OAuth, Graph, Microsoft identity),
// built like production and run until Ctrl-C. `npm start` starts them too when no provider credentials are set.
import { execFileSync, spawn } from 'node:child_process';

execFileSync(process.execPath, ['tools/build.mjs', 'libs/sandbox-providers'], { stdio: 'inherit' });
const child = spawn(
  process.execPath,
  ['dist/libs/sandbox-providers/libs/sandbox-providers/src/main.js', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));
