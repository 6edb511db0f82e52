// One SWC configuration for jest and for `nx build`: decorators with metadata (Nest DI and TypeORM
// column types need `design:*` metadata, which esbuild-based tools do not emit), CommonJS, Node 24.
const path = require('node:path');

/** @param {{ rewritePaths?: boolean }} [opts] */
function swcOptions(opts = {}) {
  const root = path.resolve(__dirname, '..');
  const tsconfig = require(path.join(root, 'tsconfig.base.json'));
  return {
    $schema: 'https://swc.rs/schema.json',
    sourceMaps: true,
    module: { type: 'commonjs', strict: true },
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
      // At build time the `@mailbridge/*` aliases are rewritten to relative paths, so the output runs on plain node.
      ...(opts.rewritePaths ? { baseUrl: root, paths: tsconfig.compilerOptions.paths } : {}),
    },
  };
}

module.exports = { swcOptions };
