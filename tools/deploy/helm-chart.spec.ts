// The Helm chart, linted and rendered by the real helm binary with the default values and a production-like values
// file, and the rendered objects checked: safe to upgrade, observable, honest about what it needs.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ALL_TOPICS, ALL_TOPICS_WITH_DLQ } from '@mailbridge/contracts';
import { documentedMigrateCommand } from './documented-command';
import { SERVICES } from './env-scan';
import { controllerRoutes, samplePath } from './http-routes';
import {
  CHART_DIR,
  K8sObject,
  PRODUCTION_VALUES,
  REQUIRED_VALUES,
  componentOf,
  containerEnvironment,
  helmLint,
  helmTemplate,
  ofKind,
  render,
} from './helm';

const VARIANTS = {
  // The default values plus only what the chart requires.
  default: { valuesFiles: [] as string[], set: REQUIRED_VALUES },
  production: { valuesFiles: [PRODUCTION_VALUES], set: [] as string[] },
};
type Variant = keyof typeof VARIANTS;
const rendered: Partial<Record<Variant, K8sObject[]>> = {};
/** The routes the services serve, from their controllers. */
const ROUTES = controllerRoutes();

beforeAll(async () => {
  for (const [name, options] of Object.entries(VARIANTS)) rendered[name as Variant] = await render(options);
});
const objects = (variant: Variant) => rendered[variant]!;

function byComponent(variant: Variant, kind: string, service: string): K8sObject {
  const found = ofKind(objects(variant), kind).filter((o) => componentOf(o) === service);
  if (found.length !== 1)
    throw new Error(`${variant}: expected one ${kind} of ${service}, found ${found.length}`);
  return found[0];
}

describe.each(Object.keys(VARIANTS) as Variant[])('chart with %s values', (variant) => {
  it('passes helm lint --strict', async () => {
    const result = await helmLint(VARIANTS[variant]);
    expect(result.stderr + result.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(result.code).toBe(0);
  });

  it('renders one Deployment, Service, ServiceAccount, ConfigMap, PodDisruptionBudget and migration Job per service', () => {
    for (const kind of ['Deployment', 'ServiceAccount', 'ConfigMap', 'PodDisruptionBudget']) {
      expect(ofKind(objects(variant), kind).map(componentOf).sort()).toEqual([...SERVICES].sort());
    }
    const httpServices = ofKind(objects(variant), 'Service').filter(
      (s) => s.spec?.ports?.[0]?.name === 'http',
    );
    expect(httpServices.map(componentOf).sort()).toEqual([...SERVICES].sort());
    expect(ofKind(objects(variant), 'Job').map(componentOf).sort()).toEqual(
      SERVICES.map((s) => `${s}-migrate`).sort(),
    );
  });

  it.each(SERVICES)(
    '%s: probes on /health/live and /health/ready, resources, non-root read-only container',
    (service) => {
      const deployment = byComponent(variant, 'Deployment', service);
      const pod = deployment.spec!.template!.spec;
      expect(pod.containers).toHaveLength(1);
      const [container] = pod.containers;
      expect(container.ports?.find((p) => p.name === 'http')).toBeDefined();
      expect(container.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(container.resources?.requests).toEqual(
        expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
      );
      expect(container.resources?.limits).toEqual(expect.objectContaining({ memory: expect.anything() }));
      expect(pod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true }));
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(container.securityContext).toEqual(
        expect.objectContaining({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        }),
      );
      // The root filesystem is read-only: /tmp is the only writable place, and it must exist.
      expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      expect(pod.volumes?.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe(byComponent(variant, 'ServiceAccount', service).metadata.name);
    },
  );

  it.each(SERVICES)('%s: spread over zones and nodes, rolled without losing capacity', (service) => {
    const deployment = byComponent(variant, 'Deployment', service);
    const selector = deployment.spec!.selector!.matchLabels!;
    const spread = deployment.spec!.template!.spec.topologySpreadConstraints ?? [];
    expect(spread.map((c) => c.topologyKey).sort()).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
    for (const c of spread) expect(c.labelSelector?.matchLabels).toEqual(selector);
    expect(deployment.spec).toEqual(
      expect.objectContaining({
        strategy: { type: 'RollingUpdate', rollingUpdate: expect.objectContaining({ maxUnavailable: 0 }) },
      }),
    );
    const pdb = byComponent(variant, 'PodDisruptionBudget', service);
    expect(pdb.spec?.selector?.matchLabels).toEqual(selector);
    const svc = ofKind(objects(variant), 'Service').find(
      (s) => componentOf(s) === service && s.spec?.ports?.[0]?.name === 'http',
    );
    expect(svc?.spec?.selector).toEqual(selector);
  });

  it.each(SERVICES)(
    '%s: runs the image command, never migrations, and gets the same configuration as its Job',
    (service) => {
      const deployment = byComponent(variant, 'Deployment', service);
      const [container] = deployment.spec!.template!.spec.containers;
      expect(container.command).toBeUndefined();
      expect(container.args).toBeUndefined();
      const env = containerEnvironment(container, objects(variant));
      expect(env.get('RUN_MIGRATIONS')).toEqual({ value: 'false' });

      const job = byComponent(variant, 'Job', `${service}-migrate`);
      expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      const [migrate] = job.spec!.template!.spec.containers;
      expect(job.spec!.template!.spec.restartPolicy).toBe('Never');
      expect(migrate.image).toBe(container.image);
      expect(migrate.command).toEqual(documentedMigrateCommand(service));
      // The migration validates the same configuration before it runs: same variables, same values (inline, because a
      // pre-install hook runs before the release's ConfigMaps exist).
      const jobEnv = containerEnvironment(migrate, objects(variant));
      expect(migrate.envFrom).toBeUndefined();
      const withoutRunMigrations = new Map([...env].filter(([k]) => k !== 'RUN_MIGRATIONS'));
      expect(Object.fromEntries(jobEnv)).toEqual(Object.fromEntries(withoutRunMigrations));
      expect(migrate.securityContext).toEqual(container.securityContext);
      // Same files too (e.g. the CA bundle EXTRA_CA_CERTS_FILE names, which the service loads before migrating).
      expect(migrate.volumeMounts).toEqual(container.volumeMounts);
    },
  );

  it('never creates a Secret: secret variables reference the existing Secret(s) named in the values', () => {
    expect(ofKind(objects(variant), 'Secret')).toEqual([]);
    const values = parse(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as {
      secrets: { existingSecret: string };
    };
    const production = parse(fs.readFileSync(PRODUCTION_VALUES, 'utf8')) as {
      secrets: { existingSecret: string };
    };
    const expected =
      variant === 'production' ? production.secrets.existingSecret : values.secrets.existingSecret;
    for (const deployment of ofKind(objects(variant), 'Deployment')) {
      const refs = (deployment.spec!.template!.spec.containers[0].env ?? [])
        .map((e) => e.valueFrom?.secretKeyRef?.name)
        .filter(Boolean);
      expect(refs.length).toBeGreaterThan(0);
      expect(new Set(refs)).toEqual(new Set([expected]));
    }
  });

  it('a configuration change rolls the pods (checksum annotation)', async () => {
    const changed = await render({
      ...VARIANTS[variant],
      set: [...(VARIANTS[variant].set ?? []), 'config.LOG_LEVEL=debug'],
    });
    for (const service of SERVICES) {
      const before = byComponent(variant, 'Deployment', service).spec!.template!.metadata!.annotations!;
      const after = changed.find((o) => o.kind === 'Deployment' && componentOf(o) === service)!.spec!
        .template!.metadata!.annotations!;
      expect(before['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
      expect(after['checksum/config']).not.toBe(before['checksum/config']);
    }
  });

  describe('ingress', () => {
    /** What ingress-nginx does: longest path first; ImplementationSpecific paths are case-insensitive regexes. */
    function routeOf(requestPath: string): string | undefined {
      const candidates = ofKind(objects(variant), 'Ingress').flatMap((ing) =>
        (ing.spec?.rules ?? []).flatMap((r) => r.http.paths),
      );
      const matching = candidates
        .filter((p) => {
          if (p.pathType === 'ImplementationSpecific') return new RegExp(`^${p.path}`, 'i').test(requestPath);
          if (p.pathType === 'Exact') return requestPath === p.path;
          const prefix = p.path.replace(/\/$/, '');
          return requestPath === prefix || requestPath.startsWith(`${prefix}/`);
        })
        .sort((a, b) => b.path.length - a.path.length);
      const backend = matching[0]?.backend.service.name;
      if (!backend) return undefined;
      const service = ofKind(objects(variant), 'Service').find((s) => s.metadata.name === backend);
      return service ? componentOf(service) : `missing Service ${backend}`;
    }

    it.each([
      ['/v1/locations/loc_1/contacts/ct_1', 'conversations'],
      ['/v1/locations/loc_1/contacts/ct_1/emails', 'conversations'],
      ['/v1/locations/loc_1/conversations/cv_1/messages', 'conversations'],
      ['/v1/locations/loc_1/attachments/at_1', 'conversations'],
      ['/v1/locations/loc_1/users/usr_1/email-connection', 'identity-connections'],
      ['/v1/locations/loc_1/users/usr_1/email-connection/google/authorize', 'identity-connections'],
      ['/v1/locations/loc_1/users/usr_1/smart-bcc', 'identity-connections'],
      ['/v1/oauth/microsoft/callback', 'identity-connections'],
      ['/v1/webhooks/gmail', 'mail-gateway'],
      ['/v1/webhooks/microsoft/lifecycle', 'mail-gateway'],
    ])('routes %s to %s', (requestPath, service) => {
      expect(routeOf(requestPath)).toBe(service);
    });

    it.each([
      '/internal/contacts',
      '/internal/connections/cn_1/access-token',
      '/metrics',
      '/docs',
      '/docs-json',
      '/health/live',
      '/health/ready',
    ])('does not expose %s', (requestPath) => {
      expect(routeOf(requestPath)).toBeUndefined();
    });

    it('finds the controllers of the services (sanity check of the route scan)', () => {
      expect(ROUTES.filter((r) => r.path.startsWith('v1/')).length).toBeGreaterThan(5);
      expect(ROUTES.filter((r) => r.path.startsWith('internal/')).length).toBeGreaterThan(0);
    });

    it.each(
      ROUTES.filter((r) => r.path.startsWith('v1/')).map((r) => [`${r.method} /${r.path}`, r.service, r]),
    )('routes %s (a controller route) to %s', (_name, service, route) => {
      expect(routeOf(samplePath(route as (typeof ROUTES)[number]))).toBe(service);
    });

    it.each(
      ROUTES.filter((r) => !r.path.startsWith('v1/')).map((r) => [`${r.method} /${r.path}`, r.service, r]),
    )('does not expose %s of %s', (_name, _service, route) => {
      expect(routeOf(samplePath(route as (typeof ROUTES)[number]))).toBeUndefined();
    });

    it('never routes to sync-engine', () => {
      const backends = ofKind(objects(variant), 'Ingress').flatMap((ing) =>
        (ing.spec?.rules ?? []).flatMap((r) => r.http.paths.map((p) => p.backend.service.name)),
      );
      expect(backends.length).toBeGreaterThan(0);
      expect(backends.filter((b) => b.endsWith('sync-engine'))).toEqual([]);
    });
  });
});

describe('chart with production values', () => {
  it('autoscales every service and leaves the replica count to the HorizontalPodAutoscaler', () => {
    for (const service of SERVICES) {
      const hpa = byComponent('production', 'HorizontalPodAutoscaler', service);
      const deployment = byComponent('production', 'Deployment', service);
      expect(hpa.spec?.scaleTargetRef).toEqual(
        expect.objectContaining({ kind: 'Deployment', name: deployment.metadata.name }),
      );
      // A replicas field would make every upgrade reset what the autoscaler chose.
      expect(deployment.spec?.replicas).toBeUndefined();
    }
  });

  it('exposes the Auto-BCC SMTP receiver on a LoadBalancer Service targeting mail-gateway', () => {
    const smtp = ofKind(objects('production'), 'Service').find((s) => s.spec?.ports?.[0]?.name === 'smtp');
    expect(smtp?.spec?.type).toBe('LoadBalancer');
    expect(smtp?.spec?.ports?.[0]).toEqual(expect.objectContaining({ port: 25, targetPort: 'smtp' }));
    const gateway = byComponent('production', 'Deployment', 'mail-gateway');
    expect(smtp?.spec?.selector).toEqual(gateway.spec?.selector?.matchLabels);
    expect(gateway.spec!.template!.spec.containers[0].ports?.map((p) => p.name)).toContain('smtp');
  });

  it('lets Prometheus scrape /metrics of every HTTP Service (and not the SMTP one)', () => {
    const [monitor] = ofKind(objects('production'), 'ServiceMonitor');
    expect(monitor.spec?.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    const selector = monitor.spec!.selector!.matchLabels!;
    const selected = ofKind(objects('production'), 'Service').filter((s) =>
      Object.entries(selector).every(([k, v]) => s.metadata.labels?.[k] === v),
    );
    expect(selected.map(componentOf).sort()).toEqual([...SERVICES].sort());
    expect(selected.every((s) => s.spec?.ports?.some((p) => p.name === 'http'))).toBe(true);
  });

  it('defines a Strimzi KafkaTopic for exactly the topics of the contracts lib and their dead-letter topics', () => {
    const topics = ofKind(objects('production'), 'KafkaTopic');
    const names = topics.map((t) => t.spec?.topicName);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...ALL_TOPICS_WITH_DLQ].sort());
    for (const topic of topics) {
      expect(topic.metadata.name).toBe(topic.spec?.topicName);
      expect(Number.isInteger(topic.spec?.partitions)).toBe(true);
      // Helm prints large numbers as floats (6.048e+08) unless converted: Kafka would refuse that.
      expect(Number.isInteger(topic.spec?.config?.['retention.ms'])).toBe(true);
      expect(topic.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    }
  });
});

describe('chart values', () => {
  it('list exactly the topics of the contracts lib (dead-letter topics are derived)', () => {
    const values = parse(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as {
      topics: { list: { name: string }[] };
    };
    expect(values.topics.list.map((t) => t.name).sort()).toEqual([...ALL_TOPICS].sort());
  });

  it('render no KafkaTopic unless Strimzi is enabled', () => {
    expect(ofKind(objects('default'), 'KafkaTopic')).toEqual([]);
  });

  it.each([
    [
      'replicas "two"',
      'services.conversations.replicaCount=two',
      /services\.conversations\.replicaCount: Invalid type/,
    ],
    [
      'an ingress path to /internal',
      'ingress.crm.paths[0].path=/internal/contacts',
      /path: Does not match pattern/,
    ],
    ['a root container', 'services.sync-engine.securityContext.runAsNonRoot=false', /runAsNonRoot/],
    [
      'a secret in the ConfigMap',
      'config.DATABASE_URL=postgres://u:p@db/x',
      /config: Property name of "DATABASE_URL"/,
    ],
    [
      'a malformed broker list',
      'config.KAFKA_BROKERS=kafka',
      /config\.KAFKA_BROKERS: Does not match pattern/,
    ],
    [
      'a dead-letter topic in the list',
      'topics.list[0].name=mail.send.v1.dlq',
      /topics\.list\.0\.name: Must not validate/,
    ],
    ['an unknown service', 'services.billing.enabled=true', /Additional property billing is not allowed/],
    ['an ingress to sync-engine', 'ingress.crm.paths[0].service=sync-engine', /service: .*must be one of/i],
  ])('refuse %s (values.schema.json)', async (_what, set, message) => {
    const result = await helmTemplate({ set: [...REQUIRED_VALUES, set] });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(result.stderr).toMatch(message);
  });
});
