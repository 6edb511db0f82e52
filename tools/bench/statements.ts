// The top statement shapes per service over a measured window, from the bench probe's per-text counters
// (tools/bench/probe.cjs): what each service asks its database per message.

/** Counters of one probe file: per connection application name, statement shape -> calls. */
export type TextCounts = Record<string, { byText?: Record<string, number> }>;

/** Per application: its statement shapes by calls during the window (after minus before), most first. */
export function statementDeltas(
  before: ReadonlyArray<TextCounts | undefined>,
  after: ReadonlyArray<TextCounts>,
): Map<string, Array<[string, number]>> {
  const acc = new Map<string, Map<string, number>>();
  after.forEach((counts, i) => {
    for (const [app, c] of Object.entries(counts)) {
      const prior = before[i]?.[app]?.byText ?? {};
      const m = acc.get(app) ?? new Map<string, number>();
      for (const [text, n] of Object.entries(c.byText ?? {})) {
        const d = n - (prior[text] ?? 0);
        if (d > 0) m.set(text, (m.get(text) ?? 0) + d);
      }
      acc.set(app, m);
    }
  });
  return new Map(
    [...acc].map(([app, m]) => [app, [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))]),
  );
}

/** Markdown: per service, its `top` statement shapes per message. */
export function statementsMarkdown(
  deltas: Map<string, Array<[string, number]>>,
  messages: number,
  top = 10,
): string {
  const lines: string[] = [];
  for (const [app, rows] of [...deltas].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (rows.length === 0) continue;
    lines.push(
      `### ${app}: top statements per message (BEGIN/COMMIT included; placeholders and value lists folded)`,
      '',
      '| per message | statement |',
      '| ---: | --- |',
    );
    for (const [text, n] of rows.slice(0, top)) {
      const cell = text.length > 160 ? `${text.slice(0, 157)}…` : text;
      lines.push(`| ${(n / messages).toFixed(2)} | \`${cell.replace(/\|/g, '\\|').replace(/`/g, "'")}\` |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
