import { hostileMime, mixCounts, planSteps } from './mix';

const plan = (seed: number, without?: Set<string>) =>
  planSteps({ seed, steps: 200, users: 2, contactsPerUser: 3, killTargets: 4, without });

describe('soak mix', () => {
  it('is the same for the same seed and differs for another seed', () => {
    expect(plan(7)).toEqual(plan(7));
    expect(plan(7)).not.toEqual(plan(8));
  });

  it('covers every kind of step and fault in a few minutes of steps', () => {
    const kinds = new Set(plan(1).map((s) => s.kind));
    expect([...kinds].sort()).toEqual(
      [
        'crm-send',
        'expire-history',
        'kill',
        'mail',
        'notifications',
        'owner-send',
        'reused-message-id',
        'revoke',
        'storm',
      ].sort(),
    );
  });

  it('--without leaves out a step kind or a hostile variant and keeps the length', () => {
    const steps = plan(1, new Set(['kill', 'nul-subject']));
    expect(steps).toHaveLength(200);
    expect(mixCounts(steps)).not.toHaveProperty('kill');
    expect(Object.keys(mixCounts(steps)).some((k) => k.endsWith(':nul-subject'))).toBe(false);
  });

  it('builds the hostile messages as specified (NUL encoded word, no separator, 1,000 parts)', () => {
    const m = { from: 'a@x.test', to: 'b@y.test', subject: 's', messageId: '<id@x.test>', marker: 'm1' };
    expect(hostileMime('nul-subject', m)).toContain('Subject: =?UTF-8?B?aGVsbG8A?= m1');
    expect(hostileMime('no-separator', m)).not.toContain('\r\n\r\n');
    expect(hostileMime('thousand-parts', m).match(/^--k-m1$/gm)).toHaveLength(1_000);
    expect(hostileMime('text-without-subtype', m)).toMatch(/^Content-Type: text$/m);
  });
});
