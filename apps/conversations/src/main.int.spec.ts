import { buildApp, spawnNode } from '@mailbridge/testing';

/** The standalone entry point (distributed mode), built as in production. */
describe('conversations started on its own', () => {
  let entry: string;
  beforeAll(async () => {
    entry = await buildApp('apps/conversations');
  }, 60_000);

  const base = {
    KAFKA_BROKERS: '127.0.0.1:1',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
    AUTH_JWT_SECRET: 'x'.repeat(32),
    INTERNAL_API_TOKEN: 'y'.repeat(32),
  };

  it.each([
    [
      'KAFKA_BROKERS unset',
      { KAFKA_BROKERS: undefined },
      'conversations: Invalid configuration: KAFKA_BROKERS is required but not set',
    ],
    [
      'a malformed DATABASE_URL',
      { DATABASE_URL: 'mysql://db/x' },
      'conversations: Invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL',
    ],
    [
      'a malformed KAFKA_BROKERS',
      { KAFKA_BROKERS: 'kafka' },
      'conversations: Invalid configuration: KAFKA_BROKERS must be a comma-separated list of host:port',
    ],
    [
      'no way to verify CRM tokens',
      { AUTH_JWT_SECRET: undefined },
      'conversations: Invalid configuration: AUTH_JWT_SECRET or AUTH_JWKS_URL must be set (how CRM tokens are verified)',
    ],
    [
      'a short INTERNAL_API_TOKEN',
      { INTERNAL_API_TOKEN: 'short' },
      'conversations: Invalid configuration: INTERNAL_API_TOKEN must be at least 32 characters',
    ],
  ])('exits non-zero with one line naming the variable: %s', async (_name, override, line) => {
    const proc = spawnNode(entry, [], { ...base, ...override });
    const code = await proc.exited;
    expect(code).toBe(1);
    expect(proc.stderr().trim()).toBe(line);
    expect(proc.stdout()).toBe('');
  });
});
