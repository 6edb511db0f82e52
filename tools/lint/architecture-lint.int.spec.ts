import { execFileSync } from 'node:child_process';
import path from 'node:path';

// The architecture's boundaries are enforced by lint, not prose: each probe is linted as a file of the app it names,
// with the repository's real ESLint config and Nx project graph.
interface Probe {
  filePath: string;
  code: string;
  typed?: boolean;
}
type Finding = { ruleId: string | null; message: string };

const root = path.resolve(__dirname, '../..');

function lint(probes: Probe[]): Finding[][] {
  const out = execFileSync(process.execPath, [path.join(root, 'tools/lint/lint-probe.mjs')], {
    cwd: root,
    input: JSON.stringify(probes),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out) as Finding[][];
}

const importing = (app: string, specifier: string, name: string): Probe => ({
  filePath: `apps/${app}/src/capability-probe.ts`,
  code: `import { ${name} } from '${specifier}';\nexport const probe = ${name};\n`,
});

const boundaryErrors = (findings: Finding[]) =>
  findings.filter((f) => f.ruleId === '@nx/enforce-module-boundaries').map((f) => f.message);

describe('architecture lint', () => {
  let results: Finding[][];
  const probes: Array<[string, Probe, 'refused' | 'allowed']> = [
    [
      'sync-engine → the Gmail provider lib',
      importing('sync-engine', '@mailbridge/providers-google', 'GMAIL_QUOTA_UNITS'),
      'refused',
    ],
    ['sync-engine → the Gmail SDK', importing('sync-engine', '@googleapis/gmail', 'gmail'), 'refused'],
    [
      'sync-engine → the object store',
      importing('sync-engine', '@mailbridge/platform-object-store', 'LocalFolderObjectStore'),
      'refused',
    ],
    [
      'conversations → the Graph provider lib',
      importing('conversations', '@mailbridge/providers-microsoft', 'GraphMailApi'),
      'refused',
    ],
    [
      'conversations → the Graph SDK',
      importing('conversations', '@microsoft/microsoft-graph-client', 'Client'),
      'refused',
    ],
    [
      'identity-connections → the object store',
      importing('identity-connections', '@mailbridge/platform-object-store', 'LocalFolderObjectStore'),
      'refused',
    ],
    [
      'identity-connections → the S3 SDK',
      importing('identity-connections', '@aws-sdk/client-s3', 'S3Client'),
      'refused',
    ],
    [
      'mail-gateway → the Gmail provider lib',
      importing('mail-gateway', '@mailbridge/providers-google', 'GMAIL_QUOTA_UNITS'),
      'allowed',
    ],
    [
      'mail-gateway → the object store',
      importing('mail-gateway', '@mailbridge/platform-object-store', 'LocalFolderObjectStore'),
      'allowed',
    ],
    [
      'conversations → the object store (attachments)',
      importing('conversations', '@mailbridge/platform-object-store', 'LocalFolderObjectStore'),
      'allowed',
    ],
  ];

  beforeAll(() => {
    results = lint([
      ...probes.map(([, probe]) => probe),
      {
        // A real file of the project, so the type-aware rules have types.
        filePath: 'apps/sync-engine/src/main.ts',
        typed: true,
        code: [
          'async function publish(): Promise<number> {',
          '  return 1;',
          '}',
          "export function route(kind: 'a' | 'b'): number {",
          '  publish();',
          '  switch (kind) {',
          "    case 'a':",
          '      return 1;',
          '  }',
          '  return 0;',
          '}',
          'export const ready = (): number => (publish() ? 1 : 0);',
          '',
        ].join('\n'),
      },
    ]);
  }, 120_000);

  it.each(probes.map(([name, , verdict], i) => [name, verdict, i] as const))(
    'capability boundary: %s is %s',
    (_name, verdict, i) => {
      const errors = boundaryErrors(results[i]);
      if (verdict === 'refused') expect(errors.join('\n')).toMatch(/can not depend on|not allowed to import/);
      else expect(errors).toEqual([]);
    },
  );

  it('type-aware rules are errors: a floating promise, a non-exhaustive switch, a promise where void is expected', () => {
    const rules = results[probes.length].map((f) => f.ruleId);
    expect(rules).toEqual(
      expect.arrayContaining([
        '@typescript-eslint/no-floating-promises',
        '@typescript-eslint/switch-exhaustiveness-check',
        '@typescript-eslint/no-misused-promises',
      ]),
    );
  });
});
