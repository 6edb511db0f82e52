import fs from 'node:fs';
import { scanEnvironment } from './env-scan';
import { CONFIGURATION_DOC, renderConfigurationDoc } from './generate-configuration';

describe('docs/configuration.md', () => {
  const scan = scanEnvironment();

  it('is up to date with the config schemas and the chart (run `node tools/run-ts.cjs tools/deploy/generate-configuration.ts`)', () => {
    expect(fs.readFileSync(CONFIGURATION_DOC, 'utf8')).toBe(renderConfigurationDoc(scan));
  });

  it('lists every variable the scan finds, and says where the chart sets each one a service reads', () => {
    const doc = fs.readFileSync(CONFIGURATION_DOC, 'utf8');
    for (const variable of scan.variables.keys()) expect(doc).toContain(`| \`${variable}\``);
    expect(doc).not.toContain('**missing**');
  });
});
