// docker/Dockerfile, checked without a Docker engine: it builds each app the way CI does, copies paths that the build
// really produces, starts the command the README documents, and runs as a non-root user on production dependencies.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildApp } from '@mailbridge/testing';
import { documentedStartCommand } from './documented-command';
import {
  ParsedDockerfile,
  Stage,
  copiesOf,
  effective,
  execForm,
  isInBuildContext,
  lineage,
  readDockerfile,
} from './dockerfile';
import { SERVICES, WORKSPACE_ROOT } from './env-scan';
import { NODE_FLAGS } from '../soak/node-flags';

/** Built for real in this test (one is enough: the others follow the same pattern, checked below). */
const BUILT = 'sync-engine';

let dockerfile: ParsedDockerfile;
const stage = (name: string): Stage => {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (!found) throw new Error(`docker/Dockerfile has no stage "${name}"`);
  return found;
};
const runs = (s: Stage) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.rest);

beforeAll(() => {
  dockerfile = readDockerfile();
});

/** Maps a path inside an image stage to the workspace, through the stage's WORKDIR (the build copies the repo there). */
function toWorkspace(stageName: string, imagePath: string): string {
  const workdir = effective(dockerfile, stageName, 'WORKDIR') ?? '/';
  const absolute = path.posix.resolve(workdir, imagePath);
  if (!absolute.startsWith(`${workdir}/`)) throw new Error(`${imagePath} is outside ${stageName}'s WORKDIR`);
  return path.join(WORKSPACE_ROOT, path.posix.relative(workdir, absolute));
}

describe('docker/Dockerfile', () => {
  it('bases every image on node:24-slim', () => {
    expect(dockerfile.globalArgs.NODE_IMAGE).toBe('node:24-slim');
    const names = dockerfile.stages.map((s) => s.name);
    for (const s of dockerfile.stages)
      expect([s.name, s.from === '${NODE_IMAGE}' || names.includes(s.from)]).toEqual([s.name, true]);
  });

  it('has no HEALTHCHECK (Kubernetes probes /health/live and /health/ready)', () => {
    expect(
      dockerfile.stages.flatMap((s) => s.instructions).filter((i) => i.keyword === 'HEALTHCHECK'),
    ).toEqual([]);
  });

  it('installs only production dependencies into the images, without install scripts', () => {
    const runtime = stage('runtime');
    const modules = copiesOf(runtime).filter((c) => c.destination.includes('node_modules'));
    expect(modules).toHaveLength(1);
    const install = runs(stage(modules[0].from!));
    expect(install).toEqual([expect.stringMatching(/npm (ci|install) .*--omit=dev/)]);
    expect(install[0]).toMatch(/--ignore-scripts/);
    // The lockfile decides the versions (npm install would otherwise rewrite it in the layer).
    expect(install[0]).toMatch(/npm ci|--no-save/);
    expect(effective(dockerfile, 'runtime', 'ENV')).toMatch(/NODE_ENV=production/);
  });

  it('issue 16: runs node with the V8 flags the soak and the bench run it with, as `npm start` does', () => {
    expect(NODE_FLAGS.length).toBeGreaterThan(0);
    // ENV's value is quoted once it holds a space (several flags).
    const value = NODE_FLAGS.length === 1 ? NODE_FLAGS[0] : `"${NODE_FLAGS.join(' ')}"`;
    const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(effective(dockerfile, 'runtime', 'ENV')).toMatch(
      new RegExp(`(^|\\s)NODE_OPTIONS=${escaped}(\\s|$)`),
    );
    const start: string = JSON.parse(fs.readFileSync(path.join(WORKSPACE_ROOT, 'package.json'), 'utf8'))
      .scripts.start;
    expect(start).toContain(`node ${NODE_FLAGS.join(' ')} dist/apps/embedded/`);
  });

  it.each(SERVICES)(
    'builds %s the way CI does: `npx nx build <app>`, which runs tools/build.mjs',
    (service) => {
      expect(runs(stage(`build-${service}`))).toEqual([`npx nx build ${service}`]);
      const project = JSON.parse(
        fs.readFileSync(path.join(WORKSPACE_ROOT, 'apps', service, 'project.json'), 'utf8'),
      ) as {
        targets: { build: { options: { command: string } } };
      };
      expect(project.targets.build.options.command).toBe(`node tools/build.mjs apps/${service}`);
    },
  );

  it.each(SERVICES)(
    '%s: starts the command the README documents, as node itself, as a non-root user',
    (service) => {
      expect(execForm(stage(service), 'CMD')).toEqual(documentedStartCommand(service));
      const entrypoints = lineage(dockerfile, service)
        .map((s) => execForm(s, 'ENTRYPOINT'))
        .filter((e) => e !== undefined);
      expect(entrypoints[0]).toEqual([]);
      const user = effective(dockerfile, service, 'USER');
      expect(user).toBeDefined();
      expect(['root', '0']).not.toContain(user!.split(':')[0]);
      expect(effective(dockerfile, service, 'LABEL')).toContain(
        `org.opencontainers.image.title="mailbridge-${service}"`,
      );
    },
  );

  it.each(SERVICES)('%s: copies only its own build output from its own build stage', (service) => {
    const copies = copiesOf(stage(service));
    expect(copies).toEqual([
      {
        from: `build-${service}`,
        sources: [`/workspace/dist/apps/${service}`],
        destination: `./dist/apps/${service}`,
      },
    ]);
  });

  describe(`after building ${BUILT} with tools/build.mjs`, () => {
    // tools/build.mjs through buildApp: once per test run, never under the feet of an e2e test running the same app.
    beforeAll(() => buildApp(`apps/${BUILT}`), 120_000);

    it('finds every path the image copies from the build stage in the build output', () => {
      for (const copy of copiesOf(stage(BUILT))) {
        for (const source of copy.sources) {
          const built = toWorkspace(copy.from!, source);
          expect([source, fs.existsSync(built)]).toEqual([source, true]);
        }
      }
    });

    it("finds the CMD's entry file where the copies put it", () => {
      const [, entry] = execForm(stage(BUILT), 'CMD')!;
      const workdir = effective(dockerfile, BUILT, 'WORKDIR')!;
      const absolute = path.posix.resolve(workdir, entry);
      const copy = copiesOf(stage(BUILT)).find((c) =>
        absolute.startsWith(`${path.posix.resolve(workdir, c.destination)}/`),
      );
      expect(copy).toBeDefined();
      const inside = path.posix.relative(path.posix.resolve(workdir, copy!.destination), absolute);
      expect(fs.existsSync(path.join(toWorkspace(copy!.from!, copy!.sources[0]), inside))).toBe(true);
    });
  });

  it('runs the sandbox providers with the command their README documents', () => {
    const readme = fs.readFileSync(
      path.join(WORKSPACE_ROOT, 'libs', 'sandbox-providers', 'README.md'),
      'utf8',
    );
    const cmd = execForm(stage('sandbox-providers'), 'CMD')!;
    expect(readme).toContain(cmd.join(' '));
  });

  it('ships the dead-letter tool in every image, and the tool refuses to replay without a selection', () => {
    expect(copiesOf(stage('runtime'))).toContainEqual({
      from: undefined,
      sources: ['docker/dlq-admin.cjs'],
      destination: './bin/dlq-admin.cjs',
    });
    const run = (...args: string[]) => {
      try {
        execFileSync(process.execPath, [path.join(WORKSPACE_ROOT, 'docker', 'dlq-admin.cjs'), ...args], {
          env: { PATH: process.env.PATH, KAFKA_BROKERS: '127.0.0.1:1' },
          stdio: 'pipe',
        });
        return { status: 0, stderr: '' };
      } catch (error) {
        const e = error as { status: number; stderr: Buffer };
        return { status: e.status, stderr: e.stderr.toString() };
      }
    };
    expect(run('replay', 'mail.observed.v1')).toEqual({
      status: 2,
      stderr: expect.stringMatching(/--all, or --position/),
    });
    expect(run('list', 'mail.observed.v1.dlq')).toEqual({
      status: 2,
      stderr: expect.stringMatching(/original topic/),
    });
  });

  it('fails without --target instead of building an arbitrary service', () => {
    const last = dockerfile.stages[dockerfile.stages.length - 1];
    expect(SERVICES as readonly string[]).not.toContain(last.name);
    expect(runs(last).join(' ')).toMatch(/exit 1/);
  });
});

describe('.dockerignore', () => {
  it('sends every file the Dockerfile copies from the build context', () => {
    const fromContext = dockerfile.stages.flatMap((s) => copiesOf(s).filter((c) => c.from === undefined));
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext.flatMap((c) => c.sources)) {
      const rel = path.posix.normalize(source).replace(/\/$/, '');
      expect([rel, fs.existsSync(path.join(WORKSPACE_ROOT, rel)), isInBuildContext(rel)]).toEqual([
        rel,
        true,
        true,
      ]);
    }
  });

  it.each(SERVICES)('sends what `nx build %s` reads: its project.json and sources', (service) => {
    for (const file of [
      `apps/${service}/project.json`,
      `apps/${service}/src/main.ts`,
      'libs/platform/runtime/src/index.ts',
    ])
      expect([file, isInBuildContext(file)]).toEqual([file, true]);
  });

  it.each([
    '.data/secrets.json',
    '.env',
    'apps/conversations/.env',
    'node_modules/zod/package.json',
    'dist/apps/conversations/apps/conversations/src/main.js',
    'apps/conversations/src/main.int.spec.ts',
    'tools/token.mjs',
    'k8s/mailbridge/values.yaml',
    'e2e/contacts.e2e-spec.ts',
  ])('keeps %s out of the build context', (file) => {
    expect(isInBuildContext(file)).toBe(false);
  });
});
