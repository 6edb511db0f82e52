// Writes docs/configuration.md from the config schemas and the Helm chart's values
// (run: node tools/run-ts.cjs tools/deploy/generate-configuration.ts). A test fails when it is stale.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ChartValues, LEFT_TO_DEFAULT, chartPlacesOf, readChartValues } from './chart-env-policy';
import { EnvDeclaration, EnvScan, SECRET_NAME, SERVICES, WORKSPACE_ROOT, scanEnvironment } from './env-scan';

export const CONFIGURATION_DOC = path.join(WORKSPACE_ROOT, 'docs', 'configuration.md');

const INTRO = `# Configuration

<!-- Generated from the \`*.config.ts\` schemas and k8s/mailbridge/values.yaml by
     \`node tools/run-ts.cjs tools/deploy/generate-configuration.ts\`. Do not edit by hand: a test fails when it is stale. -->

Every setting is an environment variable, declared once as a key of a zod schema in a \`*.config.ts\` file and
validated at start: a missing or malformed value stops the process with one line naming the variable (exit code 1).
An empty value counts as unset.

- **Distributed** (\`node dist/apps/<app>/apps/<app>/src/main.js\`, the Docker images, the Helm chart): a service reads
  the settings every service reads (\`standalone.config.ts\`) and its own.
- **Embedded** (\`npm start\`): the launcher reads its own settings and hands its environment to the four services, so
  their own settings apply too; it provides the database, the bus, the secrets and (without provider credentials) the
  sandbox providers itself.

Columns: **Read by** — the programs whose code loads the schema; **Required** — unset stops the start;
**Secret** — a credential: the Helm chart takes it from an existing Kubernetes Secret, never a ConfigMap;
**Helm** — where \`k8s/mailbridge/values.yaml\` sets it (\`config\` goes to every service, \`services.<name>.config\` to
one; \`secrets.env\` and \`services.<name>.secretEnv\` name Secret keys). docs/deploy.md says how to install and operate.
`;

/** Files read by every service first, then the services' own, other libs, the embedded launcher last. */
function rank(file: string, declarations: EnvDeclaration[]): number {
  if (declarations.some((d) => SERVICES.every((s) => d.readBy.includes(s)))) return 0;
  const app = SERVICES.findIndex((s) => file.startsWith(`apps/${s}/`));
  if (app >= 0) return 1 + app;
  return file.startsWith('apps/embedded/') ? 20 : 10;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

function helmCell(d: EnvDeclaration, values: ChartValues): string {
  const places = chartPlacesOf(d.variable, values);
  if (places.length > 0) return places.map((p) => `\`${p}\``).join(', ');
  if (LEFT_TO_DEFAULT[d.variable]) return `not set: ${LEFT_TO_DEFAULT[d.variable]}`;
  if (d.readBy.every((p) => p === 'embedded')) return '— (embedded only)';
  return d.readBy.length === 0 ? '— (read by no program yet)' : '**missing**';
}

function defaultCell(d: EnvDeclaration): string {
  if (d.required === undefined) return '(see the schema)';
  if (d.required) return '—';
  return d.defaultValue ? `\`${d.defaultValue}\`` : '(unset)';
}

/** Formatted by the prettier CLI (its API loads ESM dynamically, which jest refuses), with the project's settings. */
function prettify(markdown: string): string {
  const cli = path.join(path.dirname(require.resolve('prettier/package.json')), 'bin', 'prettier.cjs');
  return execFileSync(process.execPath, [cli, '--stdin-filepath', CONFIGURATION_DOC], {
    input: markdown,
    cwd: WORKSPACE_ROOT,
    encoding: 'utf8',
  });
}

export function renderConfigurationDoc(scan: EnvScan = scanEnvironment()): string {
  const values = readChartValues();
  const byFile = new Map<string, EnvDeclaration[]>();
  for (const d of scan.declarations) byFile.set(d.file, [...(byFile.get(d.file) ?? []), d]);
  const files = [...byFile].sort(([a, da], [b, db]) => rank(a, da) - rank(b, db) || a.localeCompare(b));
  const sections = files.map(([file, declarations]) => {
    const seen = new Set<string>();
    const rows = declarations
      .filter((d) => !seen.has(d.variable) && seen.add(d.variable))
      .map((d) =>
        [
          `\`${d.variable}\``,
          d.readBy.length > 0 ? d.readBy.join(', ') : '—',
          d.required === undefined ? '?' : d.required ? 'yes' : 'no',
          defaultCell(d),
          SECRET_NAME.test(d.variable) || chartPlacesOf(d.variable, values).some((p) => /secret/i.test(p))
            ? 'yes'
            : 'no',
          helmCell(d, values),
          d.description || '—',
        ]
          .map(cell)
          .join(' | '),
      );
    return [
      `## \`${file}\``,
      '',
      '| Variable | Read by | Required | Default | Secret | Helm | Description |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r} |`),
    ].join('\n');
  });
  return prettify([INTRO, ...sections].join('\n\n') + '\n');
}

if (require.main === module) {
  fs.mkdirSync(path.dirname(CONFIGURATION_DOC), { recursive: true });
  fs.writeFileSync(CONFIGURATION_DOC, renderConfigurationDoc());
  process.stdout.write(`wrote ${path.relative(process.cwd(), CONFIGURATION_DOC)}\n`);
}
