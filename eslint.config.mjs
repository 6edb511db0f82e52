import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

// Nest, TypeORM and Kafka are kept out of the event contracts and the pure domain; the Kafka client (@platformatic/kafka) lives in the
// messaging lib only; the emulators never reach into the platform.
const frameworkImports = ['@nestjs/*', 'typeorm', 'pg', '@platformatic/kafka', '@electric-sql/*', 'express'];

// The mail providers' SDKs: behind libs/providers, used by mail-gateway only.
const providerSdks = ['@googleapis/*', '@microsoft/microsoft-graph-client'];

/** Who may depend on whom. `forTests` lets test files (and only them) use the testing libs as well. */
function depConstraints(forTests) {
  const t = (...tags) => (forTests ? [...tags, 'type:testing'] : tags);
  return [
    {
      sourceTag: 'type:app',
      onlyDependOnLibsWithTags: t(
        'type:contracts',
        'type:domain',
        'type:platform',
        'type:provider',
        'type:sandbox',
      ),
    },
    { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: t(), bannedExternalImports: frameworkImports },
    {
      sourceTag: 'type:domain',
      onlyDependOnLibsWithTags: t('type:contracts', 'type:domain'),
      bannedExternalImports: frameworkImports,
    },
    {
      sourceTag: 'type:platform',
      onlyDependOnLibsWithTags: t('type:contracts', 'type:domain', 'type:platform'),
    },
    {
      sourceTag: 'type:provider',
      onlyDependOnLibsWithTags: t(
        'type:contracts',
        'type:domain',
        'type:platform',
        ...(forTests ? ['type:sandbox'] : []),
      ),
    },
    {
      sourceTag: 'type:sandbox',
      onlyDependOnLibsWithTags: t('type:domain'),
      bannedExternalImports: ['@nestjs/*', 'typeorm', '@platformatic/kafka'],
    },
    {
      sourceTag: 'type:testing',
      onlyDependOnLibsWithTags: [
        'type:contracts',
        'type:domain',
        'type:platform',
        'type:sandbox',
        'type:testing',
      ],
    },
    { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:contracts', 'type:testing', 'type:sandbox'] },
    { sourceTag: 'kafka:forbidden', bannedExternalImports: ['@platformatic/kafka'] },
    // Capabilities: only mail-gateway talks to the mail providers (identity-connections only does OAuth through its
    // own libraries), and only the services that keep blobs (mail-gateway, conversations) reach the object store.
    {
      sourceTag: 'provider-api:forbidden',
      notDependOnLibsWithTags: ['capability:provider-api'],
      bannedExternalImports: providerSdks,
    },
    {
      sourceTag: 'object-store:forbidden',
      notDependOnLibsWithTags: ['capability:object-store'],
      bannedExternalImports: ['@aws-sdk/*'],
    },
    // Scopes: production code of a service uses shared libs only (tests of several services live in e2e/).
    ...(forTests
      ? []
      : ['identity-connections', 'mail-gateway', 'sync-engine', 'conversations', 'embedded', 'e2e'].map(
          (scope) => ({
            sourceTag: `scope:${scope}`,
            onlyDependOnLibsWithTags: ['scope:shared', `scope:${scope}`],
          }),
        )),
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  ];
}

const boundaries = (forTests) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    banTransitiveDependencies: false,
    depConstraints: depConstraints(forTests),
  },
];

export default [
  {
    ignores: [
      '**/dist',
      '**/node_modules',
      '**/coverage',
      '**/tmp',
      '**/.nx',
      'k8s/**',
      '**/*.cjs',
      '**/*.mjs',
      'jest.config.js',
    ],
  },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  prettier,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Type-aware: a promise nobody awaits loses its error (and with it, possibly, a message).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, allowDefaultCaseForExhaustiveSwitch: true },
      ],
      '@nx/enforce-module-boundaries': boundaries(false),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
    },
  },
  {
    // Tests (and only tests) may use the testing libs, whatever the project's type.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', '**/src/testing/**/*.ts', '**/src/test-support/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries(true),
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['libs/testing/**/*.ts', 'libs/testing-services/**/*.ts', 'e2e/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', 'no-console': 'off' },
  },
];
