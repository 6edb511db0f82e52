#!/usr/bin/env node
// Builds one app for production: compiles its sources and every lib's sources with SWC (decorator metadata on,
// `@mailbridge/*` aliases rewritten to relative paths) into dist/<projectRoot>/, keeping the workspace layout so
// the output runs on plain `node dist/<projectRoot>/<projectRoot>/src/main.js`. Type-checking is `npm run typecheck`.
import { transformFile } from '@swc/core';
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { swcOptions } = require('./swc-options.cjs');
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: node tools/build.mjs <projectRoot>   e.g. apps/conversations');
  process.exit(2);
}
const outDir = path.join(root, 'dist', projectRoot);
// The embedded launcher hosts the four services in its process, so its build carries their code too.
const hosted =
  projectRoot === 'apps/embedded'
    ? ['identity-connections', 'mail-gateway', 'sync-engine', 'conversations']
    : [];
const sourceDirs = [
  path.join(root, projectRoot, 'src'),
  ...hosted.map((app) => path.join(root, 'apps', app, 'src')),
  path.join(root, 'libs'),
];
const isTest = (f) =>
  /\.(spec|int\.spec|e2e-spec)\.ts$/.test(f) || f.includes(`${path.sep}__fixtures__${path.sep}`);

async function* walk(dir) {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name === 'dist') continue;
      yield* walk(full);
    } else yield full;
  }
}

const options = swcOptions({ rewritePaths: true });
await fs.rm(outDir, { recursive: true, force: true });
let count = 0;
for (const dir of sourceDirs) {
  for await (const file of walk(dir)) {
    const rel = path.relative(root, file);
    if (dir.endsWith('libs') && !rel.split(path.sep).includes('src')) continue;
    const target = path.join(outDir, rel);
    await fs.mkdir(path.dirname(target), { recursive: true });
    if (file.endsWith('.ts')) {
      if (file.endsWith('.d.ts') || isTest(file)) continue;
      const out = await transformFile(file, {
        ...options,
        filename: file,
        sourceFileName: path.relative(path.dirname(target), file),
      });
      const js = target.replace(/\.ts$/, '.js');
      await fs.writeFile(js, `${out.code}\n//# sourceMappingURL=${path.basename(js)}.map\n`);
      if (out.map) await fs.writeFile(`${js}.map`, out.map);
      count++;
    } else if (!/\.(md|json)$/.test(file) || file.endsWith('.json')) {
      await fs.copyFile(file, target); // assets: html, json, sql
    }
  }
}
console.log(`built ${projectRoot}: ${count} files -> ${path.relative(root, outDir)}`);
