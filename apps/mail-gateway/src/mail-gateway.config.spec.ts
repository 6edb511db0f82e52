import { loadMailGatewayConfig, retentionRulesOf } from './mail-gateway.config';

describe('mail-gateway configuration', () => {
  it('remembers observed ids for 30 days by default, as an hourly-pruned retention rule', () => {
    const config = loadMailGatewayConfig({});
    expect(retentionRulesOf(config)).toEqual([
      expect.objectContaining({
        table: 'observed_messages',
        writtenAtColumn: 'observed_at',
        retentionHours: 720,
      }),
    ]);
  });

  it('refuses an observed-id retention that a gap re-list could outrun (it would publish old mail again)', () => {
    expect(() =>
      loadMailGatewayConfig({ OBSERVED_MESSAGE_RETENTION_DAYS: '7', GAP_RELIST_MAX_DAYS: '7' }),
    ).toThrow(/OBSERVED_MESSAGE_RETENTION_DAYS/);
    expect(
      loadMailGatewayConfig({ OBSERVED_MESSAGE_RETENTION_DAYS: '8' }).OBSERVED_MESSAGE_RETENTION_DAYS,
    ).toBe(8);
  });
});
