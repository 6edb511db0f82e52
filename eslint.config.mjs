import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Nest, TypeORM and Kafka are kept out of the event contracts and the pure domain; kafkajs lives in the
// messaging lib only; the emulators never reach into the platform.
const frameworkImports = ['@nestjs/*', 'typeorm', 'pg', 'kafkajs', '@electric-sql/*', 'express'];

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
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          banTransitiveDependencies: false,
          depConstraints: [
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:contracts',
                'type:domain',
                'type:platform',
                'type:provider',
                'type:sandbox',
              ],
            },
            {
              sourceTag: 'type:contracts',
              onlyDependOnLibsWithTags: [],
              bannedExternalImports: frameworkImports,
            },
            {
              sourceTag: 'type:domain',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:domain'],
              bannedExternalImports: frameworkImports,
            },
            {
              sourceTag: 'type:platform',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:platform'],
            },
            {
              sourceTag: 'type:provider',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:platform'],
            },
            {
              sourceTag: 'type:sandbox',
              onlyDependOnLibsWithTags: ['type:domain'],
              bannedExternalImports: ['@nestjs/*', 'typeorm', 'kafkajs'],
            },
            {
              sourceTag: 'type:testing',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:platform', 'type:sandbox'],
            },
            {
              sourceTag: 'type:e2e',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:testing', 'type:sandbox'],
            },
            { sourceTag: 'kafka:forbidden', bannedExternalImports: ['kafkajs'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            {
              sourceTag: 'scope:identity-connections',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:identity-connections'],
            },
            {
              sourceTag: 'scope:mail-gateway',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:mail-gateway'],
            },
            {
              sourceTag: 'scope:sync-engine',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:sync-engine'],
            },
            {
              sourceTag: 'scope:conversations',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:conversations'],
            },
            { sourceTag: 'scope:embedded', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:shared'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
    },
  },
  {
    // Tests (and only tests) may use the testing libs, whatever the project's type.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', '**/src/testing/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:contracts',
                'type:domain',
                'type:platform',
                'type:provider',
                'type:sandbox',
                'type:testing',
              ],
            },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts', 'type:testing'] },
            {
              sourceTag: 'type:domain',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:testing'],
            },
            {
              sourceTag: 'type:platform',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:platform', 'type:testing'],
            },
            {
              sourceTag: 'type:provider',
              onlyDependOnLibsWithTags: [
                'type:contracts',
                'type:domain',
                'type:platform',
                'type:testing',
                'type:sandbox',
              ],
            },
            { sourceTag: 'type:sandbox', onlyDependOnLibsWithTags: ['type:domain', 'type:testing'] },
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
            {
              sourceTag: 'type:e2e',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:testing', 'type:sandbox'],
            },
            { sourceTag: 'kafka:forbidden', bannedExternalImports: ['kafkajs'] },
          ],
        },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['libs/testing/**/*.ts', 'libs/testing-services/**/*.ts', 'e2e/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', 'no-console': 'off' },
  },
];
