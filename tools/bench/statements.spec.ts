import { type TextCounts, statementDeltas, statementsMarkdown } from './statements';

describe('statementDeltas', () => {
  it('counts per service what ran between two probe readings, most first, summed over processes', () => {
    const before: Array<TextCounts | undefined> = [
      { svc: { byText: { 'SELECT a': 5, COMMIT: 2 } } },
      undefined,
    ];
    const after: TextCounts[] = [
      { svc: { byText: { 'SELECT a': 9, COMMIT: 2, 'INSERT b': 1 } } },
      { svc: { byText: { 'INSERT b': 4 } }, other: {} },
    ];
    const d = statementDeltas(before, after);
    expect(d.get('svc')).toEqual([
      ['INSERT b', 5],
      ['SELECT a', 4],
    ]);
    expect(d.get('other')).toEqual([]);
  });
});

describe('statementsMarkdown', () => {
  it('shows each service its statements per message, escaped for a table', () => {
    const md = statementsMarkdown(new Map([['svc', [['SELECT a || b', 50] as [string, number]]]]), 100);
    expect(md).toContain('### svc: top statements per message');
    expect(md).toContain('| 0.50 | `SELECT a \\|\\| b` |');
  });
});
