import { loadConfig } from '@mailbridge/platform-config';
import { kafkaSecurityOf, standaloneConfigSchema } from './standalone.config';

const base = {
  KAFKA_BROKERS: 'kafka-0:9093,kafka-1:9093',
  INTERNAL_API_TOKEN: 'x'.repeat(32),
  AUTH_JWT_SECRET: 'y'.repeat(32),
};

describe('standalone settings: Kafka broker security', () => {
  it('plain brokers by default (no TLS, no SASL)', () => {
    expect(kafkaSecurityOf(loadConfig(standaloneConfigSchema, base))).toEqual({});
  });

  it('TLS and SASL/SCRAM reach the Kafka bus options', () => {
    const config = loadConfig(standaloneConfigSchema, {
      ...base,
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'mailbridge',
      KAFKA_SASL_PASSWORD: 'pw',
    });
    expect(kafkaSecurityOf(config)).toEqual({
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'mailbridge', password: 'pw' },
    });
  });

  it('a half-configured SASL names the missing variable instead of connecting without it', () => {
    expect(() =>
      loadConfig(standaloneConfigSchema, {
        ...base,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
      }),
    ).toThrow(/KAFKA_SASL_MECHANISM.*KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/s);
    expect(() => loadConfig(standaloneConfigSchema, { ...base, KAFKA_SASL_PASSWORD: 'pw' })).toThrow(
      /KAFKA_SASL_MECHANISM/,
    );
    expect(() => loadConfig(standaloneConfigSchema, { ...base, KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(
      /KAFKA_SASL_MECHANISM/,
    );
  });
});
