// Config parity: every environment variable a service reads (the keys of the `*.config.ts` schemas its code reaches)
// is set in that service's Deployment by the chart, secrets only from Secrets and only where they are read.
import fs from 'node:fs';
import path from 'node:path';
import { ALTERNATIVES, LEFT_TO_DEFAULT } from './chart-env-policy';
import {
  EnvScan,
  SECRET_NAME,
  SERVICES,
  ServiceName,
  findDirectEnvReads,
  scanEnvironment,
  variablesReadBy,
} from './env-scan';
import {
  CHART_DIR,
  K8sObject,
  PRODUCTION_VALUES,
  componentOf,
  containerEnvironment,
  ofKind,
  render,
  REQUIRED_VALUES,
} from './helm';

let scan: EnvScan;
const rendered: Record<string, K8sObject[]> = {};

beforeAll(async () => {
  scan = scanEnvironment();
  rendered.default = await render({ set: REQUIRED_VALUES });
  rendered.production = await render({ valuesFiles: [PRODUCTION_VALUES] });
});

function environmentOf(variant: string, service: ServiceName) {
  const deployment = ofKind(rendered[variant], 'Deployment').find((d) => componentOf(d) === service);
  if (!deployment) throw new Error(`${variant}: no Deployment for ${service}`);
  const [container] = deployment.spec!.template!.spec.containers;
  return { container, env: containerEnvironment(container, rendered[variant]) };
}

const isSet = (entry: { value?: string; secret?: { optional: boolean } } | undefined) =>
  entry !== undefined && (entry.secret !== undefined || (entry.value ?? '').trim() !== '');

describe('the environment scan', () => {
  it('finds the settings every service reads when it runs alone, read by all four services', () => {
    for (const variable of ['KAFKA_BROKERS', 'DATABASE_URL', 'INTERNAL_API_TOKEN', 'RUN_MIGRATIONS']) {
      const readers = new Set(scan.variables.get(variable)?.flatMap((d) => d.readBy));
      for (const service of SERVICES) expect([variable, readers.has(service)]).toEqual([variable, true]);
    }
    const brokers = scan.variables.get('KAFKA_BROKERS')![0];
    expect(brokers.file).toBe('libs/platform/runtime/src/standalone.config.ts');
    expect(brokers.required).toBe(true);
  });

  it("leaves the embedded launcher's own settings to the embedded launcher", () => {
    const embeddedOnly = [...scan.variables].filter(([, ds]) =>
      ds.every((d) => d.readBy.every((p) => p === 'embedded')),
    );
    expect(embeddedOnly.map(([v]) => v)).toContain('MAILBRIDGE_PORT_BASE');
    for (const [, ds] of embeddedOnly) for (const d of ds) expect(d.file).toMatch(/^apps\/embedded\//);
  });

  it('finds no environment variable read outside the config schemas (process.env belongs in *.config.ts)', () => {
    expect(findDirectEnvReads()).toEqual([]);
  });
});

describe.each(['default', 'production'])('chart with %s values', (variant) => {
  it.each(SERVICES)('sets every variable %s reads (or leaves it to its default on purpose)', (service) => {
    const { env } = environmentOf(variant, service);
    const reads = variablesReadBy(scan, service);
    const missing = [...reads.keys()].filter((variable) => {
      if (env.has(variable) || variable in LEFT_TO_DEFAULT) return false;
      const group = ALTERNATIVES.find((g) => g.includes(variable));
      return !group?.some((other) => env.has(other));
    });
    const where = (v: string) =>
      `${v} (${scan.variables
        .get(v)!
        .map((d) => `${d.file}:${d.line}`)
        .join(', ')})`;
    // Add a missing one to k8s/mailbridge/values.yaml (config, services.<name>.config, secrets.env or
    // services.<name>.secretEnv), or to LEFT_TO_DEFAULT in tools/deploy/chart-env-policy.ts with the reason.
    expect(missing.map(where)).toEqual([]);
  });

  it.each(SERVICES)(
    '%s gets only variables a service reads, and secrets only if it reads them',
    (service) => {
      const { env } = environmentOf(variant, service);
      const reads = variablesReadBy(scan, service);
      const unknown = [...env.keys()].filter((v) => !scan.variables.has(v));
      expect(unknown).toEqual([]);
      const secretsNotRead = [...env].filter(([v, e]) => e.secret && !reads.has(v)).map(([v]) => v);
      expect(secretsNotRead).toEqual([]);
    },
  );

  it.each(SERVICES)('%s gets credentials only from Secrets, each variable from one source', (service) => {
    const { container, env } = environmentOf(variant, service);
    const plain = [...env].filter(([v, e]) => SECRET_NAME.test(v) && !e.secret).map(([v]) => v);
    expect(plain).toEqual([]);
    const configMap = rendered[variant].find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === container.envFrom?.[0]?.configMapRef?.name,
    );
    const both = (container.env ?? []).map((e) => e.name).filter((n) => n in (configMap?.data ?? {}));
    expect(both).toEqual([]);
  });

  it.each(SERVICES)('%s gets a non-optional Secret reference for every required credential', (service) => {
    const { env } = environmentOf(variant, service);
    const required = [...variablesReadBy(scan, service)].filter(
      ([v, r]) => r.required && SECRET_NAME.test(v),
    );
    expect(required.length).toBeGreaterThan(0);
    for (const [variable] of required)
      expect([variable, env.get(variable)?.secret?.optional]).toEqual([variable, false]);
  });
});

describe('chart with production values', () => {
  it.each(SERVICES)('sets a value for every variable %s requires, and one of each alternative', (service) => {
    const { env } = environmentOf('production', service);
    const reads = variablesReadBy(scan, service);
    const unset = [...reads].filter(([v, r]) => r.required && !isSet(env.get(v))).map(([v]) => v);
    expect(unset).toEqual([]);
    for (const group of ALTERNATIVES.filter((g) => g.some((v) => reads.has(v))))
      expect([group, group.some((v) => isSet(env.get(v)))]).toEqual([group, true]);
  });
});

describe('chart environment policy', () => {
  it('leaves to their defaults only variables some service reads and the chart does not set', () => {
    for (const variable of Object.keys(LEFT_TO_DEFAULT)) {
      expect([variable, SERVICES.some((s) => variablesReadBy(scan, s).has(variable))]).toEqual([
        variable,
        true,
      ]);
      for (const service of SERVICES)
        expect([variable, environmentOf('default', service).env.has(variable)]).toEqual([variable, false]);
    }
  });

  it('refuses in values.schema.json the same secret-looking names as this test', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as {
      definitions: { envMap: { propertyNames: { not: { pattern: string } } } };
    };
    expect(schema.definitions.envMap.propertyNames.not.pattern).toBe(SECRET_NAME.source);
  });
});
