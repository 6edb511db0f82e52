import fs from 'node:fs';
import { Parser } from '@asyncapi/parser';
import { eventCatalog } from '@mailbridge/contracts';
import { ASYNCAPI_PATH, renderAsyncApi } from './generate-asyncapi';

describe('docs/asyncapi.yaml', () => {
  it('is up to date with the event catalog (run `npm run docs:asyncapi` after changing an event)', () => {
    expect(fs.readFileSync(ASYNCAPI_PATH, 'utf8')).toBe(renderAsyncApi());
  });

  it('is a valid AsyncAPI document that lists every event', async () => {
    const { document, diagnostics } = await new Parser().parse(fs.readFileSync(ASYNCAPI_PATH, 'utf8'));
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((e) => `${e.path.join('.')}: ${e.message}`)).toEqual([]);
    const names = document!
      .allMessages()
      .all()
      .map((m) => m.name());
    for (const d of eventCatalog.definitions())
      expect(names).toContain(`${d.type.replace(/\./g, '-')}-v${d.version}`);
  });
});
