// Runs a TypeScript tool script with the same SWC settings and path aliases as the tests: node tools/run-ts.cjs <file.ts>
const path = require('node:path');
const Module = require('node:module');
const { transformSync } = require('@swc/core');
const { swcOptions } = require('./swc-options.cjs');
const { compilerOptions } = require('../tsconfig.base.json');

const root = path.resolve(__dirname, '..');
const aliases = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [alias, path.join(root, target)]),
);
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, aliases[request] ?? request, ...rest);
};
const options = swcOptions();
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(require('node:fs').readFileSync(filename, 'utf8'), { ...options, filename });
  module._compile(code, filename);
};
require('reflect-metadata');
const target = path.resolve(process.argv[2]);
process.argv.splice(1, 2, target);
require.main = undefined;
Module._load(target, null, true);
