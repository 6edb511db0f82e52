// The scan behind config parity and docs/configuration.md, on a small workspace of its own: who reads a variable is
// decided by what the program's code reaches, not by what a file happens to sit next to.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { EnvScan, WORKSPACE_ROOT, directEnvReadsIn, scanEnvironment } from './env-scan';

const FILES: Record<string, string> = {
  'libs/lib/src/index.ts': `export * from './lib.config';\nexport * from './loader';\n`,
  'libs/lib/src/lib.config.ts': `import { z } from 'zod';
/** Reached through the loader. */
export const usedSchema = z.object({
  /** The answer. */
  USED_VAR: z.string(),
  // Has a default.
  WITH_DEFAULT: z.string().default('x'),
  LIST_VAR: z.string().transform((v) => v.split(',')).default(['a', 'b']),
  nestedLowercase: z.string().optional(),
});
/** Exported beside it, referenced by nobody. */
export const unusedSchema = z.object({ UNUSED_VAR: z.string().optional() });
/** Only its type is used. */
export const typeOnlySchema = z.object({ TYPE_ONLY_VAR: z.string() });
export type TypeOnly = z.infer<typeof typeOnlySchema>;
export const extended = usedSchema.extend({ EXTENDED_VAR: z.coerce.number().default(5) });
`,
  'libs/lib/src/loader.ts': `import { usedSchema } from './lib.config';
export function loadLib(env: Record<string, string | undefined>) {
  return usedSchema.parse(env);
}
`,
  'libs/lib/src/side.config.ts': `import { z } from 'zod';
export const sideSchema = z.object({ SIDE_VAR: z.string().optional() });
`,
  'libs/lib/src/side-effect.ts': `import { sideSchema } from './side.config';\nsideSchema.parse({});\nexport const unrelated = 1;\n`,
  'apps/conversations/src/main.ts': `import { loadLib, type TypeOnly } from '@fx/lib';
import { unrelated } from '../../../libs/lib/src/side-effect';
const t: TypeOnly | undefined = undefined;
void t;
void unrelated;
loadLib({});
`,
  'apps/conversations/src/conversations.config.ts': `import { z } from 'zod';
export const ownSchema = z.object({ OWN_VAR: z.coerce.number().int().default(3) });
`,
  'apps/sync-engine/src/main.ts': `export const nothing = 0;\n`,
};

let dir: string;
let scan: EnvScan;

beforeAll(() => {
  // Inside the workspace so the fixture's `zod` import resolves to the workspace's node_modules.
  fs.mkdirSync(path.join(WORKSPACE_ROOT, 'tmp'), { recursive: true });
  dir = fs.mkdtempSync(path.join(WORKSPACE_ROOT, 'tmp', 'env-scan-'));
  for (const [file, text] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  scan = scanEnvironment({
    root: dir,
    compilerOptions: {
      baseUrl: dir,
      paths: { '@fx/lib': ['libs/lib/src/index.ts'] },
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      esModuleInterop: true,
    },
  });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const declaration = (variable: string) => {
  const found = scan.variables.get(variable);
  if (!found || found.length !== 1) throw new Error(`${variable}: ${found?.length ?? 0} declarations`);
  return found[0];
};

describe('scanEnvironment', () => {
  it('attributes a schema to the programs that reach it through a path alias and a barrel', () => {
    expect(declaration('USED_VAR')).toEqual(
      expect.objectContaining({
        file: 'libs/lib/src/lib.config.ts',
        schema: 'usedSchema',
        readBy: ['conversations'],
        required: true,
        description: 'The answer.',
      }),
    );
  });

  it('does not count a schema that is only exported beside a used one, or only used as a type', () => {
    expect(declaration('UNUSED_VAR').readBy).toEqual([]);
    expect(declaration('TYPE_ONLY_VAR').readBy).toEqual([]);
  });

  it('counts a schema used by a statement that runs when its file is loaded', () => {
    expect(declaration('SIDE_VAR').readBy).toEqual(['conversations']);
  });

  it('gives a schema in apps/<app>/ to that app even when nothing loads it yet', () => {
    expect(declaration('OWN_VAR')).toEqual(
      expect.objectContaining({ readBy: ['conversations'], required: false, defaultValue: '3' }),
    );
  });

  it('reads defaults and required-ness from the schemas themselves', () => {
    expect(declaration('WITH_DEFAULT')).toEqual(
      expect.objectContaining({ required: false, defaultValue: 'x', description: 'Has a default.' }),
    );
    expect(declaration('LIST_VAR').defaultValue).toBe('a,b');
    expect(declaration('UNUSED_VAR')).toEqual(expect.objectContaining({ required: false, defaultValue: '' }));
    expect(declaration('EXTENDED_VAR')).toEqual(
      expect.objectContaining({ schema: 'extended', defaultValue: '5' }),
    );
  });

  it('takes only keys that look like environment variables', () => {
    expect(scan.variables.has('nestedLowercase')).toBe(false);
  });
});

describe('directEnvReadsIn', () => {
  const reads = (code: string) => directEnvReadsIn('x.ts', code).map((r) => r.text);

  it.each([
    ['process.env.FOO', 'const a = process.env.FOO;'],
    ["process.env['FOO']", "const a = process.env['FOO'];"],
    ['host.env.FOO', 'const a = host.env.FOO;'],
    ['env.FOO', 'function f(env: Record<string, string>) { return env.FOO; }'],
    ['e = process.env', 'const e = process.env;'],
  ])('reports %s', (expected, code) => {
    expect(reads(code)).toEqual([expected]);
  });

  it.each([
    ['handing process.env to the config loader', 'loadConfig(schema, process.env);'],
    ['a parameter defaulting to process.env', 'export function f(env = process.env) { return env; }'],
    ['helpers named env', "const port = env.port(3000); const u = env.url(['https']);"],
  ])('allows %s', (_what, code) => {
    expect(reads(code)).toEqual([]);
  });
});
