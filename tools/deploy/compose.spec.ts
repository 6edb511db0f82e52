// docker/compose.yml (local distributed runs), checked without a Docker engine: the images and commands are the
// Dockerfile's and the README's, the migrations run first, and each service gets the settings its schemas require.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ALTERNATIVES } from './chart-env-policy';
import { documentedMigrateCommand } from './documented-command';
import { readDockerfile } from './dockerfile';
import { EnvScan, SERVICES, WORKSPACE_ROOT, scanEnvironment, variablesReadBy } from './env-scan';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  command?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  read_only?: boolean;
  tmpfs?: string[];
  volumes?: string[];
}

const COMPOSE_FILE = path.join(WORKSPACE_ROOT, 'docker', 'compose.yml');
let compose: { services: Record<string, ComposeService> };
let scan: EnvScan;

beforeAll(() => {
  // Merge keys (<<) as Docker Compose resolves them.
  compose = parse(fs.readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as typeof compose;
  scan = scanEnvironment();
});

const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker/compose.yml has no service "${name}"`);
  return found;
};

describe('docker/compose.yml', () => {
  it('runs Kafka, PostgreSQL, an S3 store (MinIO), the sandbox providers and the four services', () => {
    for (const name of ['kafka', 'postgres', 'minio', 'sandbox', ...SERVICES])
      expect(compose.services).toHaveProperty([name]);
  });

  it('builds every image from docker/Dockerfile targets that exist', () => {
    const stages = readDockerfile().stages.map((s) => s.name);
    for (const [name, s] of Object.entries(compose.services).filter(([, s]) => s.build)) {
      expect([name, path.resolve(path.dirname(COMPOSE_FILE), s.build!.context)]).toEqual([
        name,
        WORKSPACE_ROOT,
      ]);
      expect([name, s.build!.dockerfile]).toEqual([name, 'docker/Dockerfile']);
      expect([name, stages.includes(s.build!.target)]).toEqual([name, true]);
    }
  });

  it.each(SERVICES)(
    '%s: migrates first with the documented command, then starts the image command',
    (name) => {
      const app = service(name);
      const migrate = service(`${name}-migrate`);
      expect(app.build?.target).toBe(name);
      expect(migrate.build?.target).toBe(name);
      expect(migrate.image).toBe(app.image);
      expect(migrate.command).toEqual(documentedMigrateCommand(name));
      expect(app.command).toBeUndefined();
      expect(app.depends_on?.[`${name}-migrate`]).toEqual({ condition: 'service_completed_successfully' });
      expect(app.environment?.RUN_MIGRATIONS).toBe('false');
      expect(migrate.environment).toEqual(app.environment);
      expect(migrate.volumes).toEqual(app.volumes);
    },
  );

  it.each(SERVICES)(
    '%s: runs with a read-only root filesystem and a writable /tmp, like the chart',
    (name) => {
      expect(service(name).read_only).toBe(true);
      expect(service(name).tmpfs).toEqual(['/tmp']);
    },
  );

  it.each(SERVICES)('%s: sets every variable its schemas require, and only variables it reads', (name) => {
    const env = service(name).environment ?? {};
    const reads = variablesReadBy(scan, name);
    const required = [...reads].filter(([, r]) => r.required).map(([v]) => v);
    expect(required.filter((v) => String(env[v] ?? '').trim() === '')).toEqual([]);
    for (const group of ALTERNATIVES)
      expect([group, group.some((v) => env[v] !== undefined)]).toEqual([group, true]);
    expect(Object.keys(env).filter((v) => !reads.has(v))).toEqual([]);
  });

  it('points the services at the compose Kafka, PostgreSQL and MinIO', () => {
    for (const name of SERVICES) {
      const env = service(name).environment!;
      expect(env.KAFKA_BROKERS).toBe('kafka:9092');
      expect(new URL(String(env.DATABASE_URL)).hostname).toBe('postgres');
      if (env.S3_ENDPOINT !== undefined) expect(new URL(String(env.S3_ENDPOINT)).hostname).toBe('minio');
    }
  });
});
