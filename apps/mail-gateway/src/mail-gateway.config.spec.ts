import { loadMailGatewayConfig, retentionRulesOf } from './mail-gateway.config';

describe('mail-gateway configuration', () => {
  it('remembers observed ids and the ledger of outcomes (SYN-10) for 30 days by default, as hourly-pruned retention rules', () => {
    const config = loadMailGatewayConfig({});
    expect(retentionRulesOf(config)).toEqual([
      expect.objectContaining({
        table: 'observed_messages',
        writtenAtColumn: 'observed_at',
        retentionHours: 720,
      }),
      expect.objectContaining({
        table: 'message_ledger',
        writtenAtColumn: 'recorded_at',
        retentionHours: 720,
      }),
      // SYN-7: known mailbox states live as long as the ids they belong to.
      expect.objectContaining({
        table: 'message_states',
        writtenAtColumn: 'updated_at',
        retentionHours: 720,
      }),
    ]);
  });

  it('SYN-10: refuses an audit window the ledger retention could outrun (the audit would re-drive forgotten mail)', () => {
    expect(() =>
      loadMailGatewayConfig({ OBSERVED_MESSAGE_RETENTION_DAYS: '8', AUDIT_WINDOW_HOURS: '192' }),
    ).toThrow(/AUDIT_WINDOW_HOURS/);
    expect(loadMailGatewayConfig({}).AUDIT_WINDOW_HOURS).toBe(24);
  });

  it('refuses an observed-id retention that a gap re-list could outrun (it would publish old mail again)', () => {
    expect(() =>
      loadMailGatewayConfig({ OBSERVED_MESSAGE_RETENTION_DAYS: '7', GAP_RELIST_MAX_DAYS: '7' }),
    ).toThrow(/OBSERVED_MESSAGE_RETENTION_DAYS/);
    expect(
      loadMailGatewayConfig({ OBSERVED_MESSAGE_RETENTION_DAYS: '8' }).OBSERVED_MESSAGE_RETENTION_DAYS,
    ).toBe(8);
  });

  it('checks the shared object-store settings as conversations does: bucket and region for s3, both credentials', () => {
    expect(() => loadMailGatewayConfig({ OBJECT_STORE_KIND: 's3', S3_REGION: 'eu-west-1' })).toThrow(
      /S3_BUCKET/,
    );
    expect(() =>
      loadMailGatewayConfig({
        OBJECT_STORE_KIND: 's3',
        S3_BUCKET: 'mail',
        S3_REGION: 'eu-west-1',
        S3_ACCESS_KEY_ID: 'AKIA',
      }),
    ).toThrow(/S3_SECRET_ACCESS_KEY/);
  });
});
