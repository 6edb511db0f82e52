// Three kinds of test, one runner (see docs/testing.md):
//   unit         *.spec.ts beside the code, no I/O
//   integration  *.int.spec.ts beside the code, real PostgreSQL + Kafka mock cluster + provider emulators
//   e2e          e2e/**/*.e2e-spec.ts, the services as separate processes, public surfaces only
const { swcOptions } = require('./tools/swc-options.cjs');
const { compilerOptions } = require('./tsconfig.base.json');

function esmDependencyOptions() {
  return { module: { type: 'commonjs' }, jsc: { target: 'es2023', parser: { syntax: 'ecmascript' } } };
}

const moduleNameMapper = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]),
);

const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', swcOptions()],
    // @platformatic/kafka and its helpers ship ES modules only: Node 24 requires them natively, jest's module
    // registry cannot, so they are compiled to CommonJS for the tests.
    '/node_modules/@platformatic/.+\\.js$': ['@swc/jest', esmDependencyOptions()],
  },
  transformIgnorePatterns: ['/node_modules/(?!@platformatic/)'],
  moduleNameMapper,
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFiles: ['reflect-metadata'],
};

module.exports = {
  maxWorkers: process.env.CI ? 2 : '50%',
  // Global on purpose: jest ignores testTimeout inside `projects`. Unit tests are fast anyway; integration tests start
  // real servers. E2E files raise it further with jest.setTimeout.
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/tools/jest/summary-reporter.cjs'],
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,libs,tools}/**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.spec\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,tools}/**/*.int.spec.ts'],
      globalSetup: '<rootDir>/tools/jest/global-setup.cjs',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/tools/jest/global-setup.cjs',
    },
  ],
};
