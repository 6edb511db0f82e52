import { z } from 'zod';
import { ConfigError, env, kafkaBrokers, loadConfig } from './load-config';

const schema = z.object({
  PORT: env.port(3000),
  DATABASE_URL: env.url(['postgres', 'postgresql']).optional(),
  KAFKA_BROKERS: kafkaBrokers(),
  FEATURE: env.bool(false),
});

describe('loadConfig', () => {
  it('parses and applies defaults', () => {
    const c = loadConfig(schema, { KAFKA_BROKERS: 'a:9092, b:9093' });
    expect(c).toEqual({
      PORT: 3000,
      DATABASE_URL: undefined,
      KAFKA_BROKERS: ['a:9092', 'b:9093'],
      FEATURE: false,
    });
  });

  it('names a missing required variable', () => {
    expect(() => loadConfig(schema, {})).toThrow(new ConfigError('KAFKA_BROKERS', 'is required but not set'));
  });

  it('treats an empty value as unset', () => {
    expect(() => loadConfig(schema, { KAFKA_BROKERS: '  ' })).toThrow(
      'KAFKA_BROKERS is required but not set',
    );
  });

  it('names a malformed variable and says what is expected', () => {
    expect(() => loadConfig(schema, { KAFKA_BROKERS: 'k:1', DATABASE_URL: 'mysql://x' })).toThrow(
      'Invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL',
    );
    expect(() => loadConfig(schema, { KAFKA_BROKERS: 'k:1', PORT: 'eighty' })).toThrow(
      /^Invalid configuration: PORT /,
    );
    expect(() => loadConfig(schema, { KAFKA_BROKERS: 'no-port' })).toThrow(
      /KAFKA_BROKERS must be a comma-separated/,
    );
  });
});
