// Finds every environment variable the programs read, and which program reads it, from the source: the keys of the
// `z.object({...})` literals in `*.config.ts` files (the project's convention: process.env is read nowhere else).
// "Reads" means the schema's declaration is reachable from the program's entry through value references (resolved by
// the TypeScript checker, so barrels, aliases and re-exports are followed; type-only uses are not). The Helm chart
// test, the configuration reference (docs/configuration.md) and its generator all use this one scan.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..');

/** The services the Helm chart deploys, in port order. */
export const SERVICES = ['identity-connections', 'mail-gateway', 'sync-engine', 'conversations'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** What runs: the four services alone (distributed) and the embedded launcher (`npm start`). */
export const PROGRAMS = [...SERVICES, 'embedded'] as const;
export type ProgramName = (typeof PROGRAMS)[number];

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

export interface EnvDeclaration {
  readonly variable: string;
  /** Workspace-relative path of the `*.config.ts` file. */
  readonly file: string;
  readonly line: number;
  /** The top-level declaration holding the schema, e.g. `standaloneConfigSchema`. */
  readonly schema: string;
  /** Its doc comment, on one line ('' when none). */
  readonly description: string;
  /**
   * Programs whose code reaches this schema, and the app owning the file (apps/<app>/...): a schema in an app is that
   * app's, even while the code that loads it is still being written.
   */
  readonly readBy: ProgramName[];
  /** Unset makes the schema fail (no default, not optional); undefined when the schema could not be loaded. */
  readonly required: boolean | undefined;
  /** What an unset variable becomes, as text ('' when optional without a default). */
  readonly defaultValue: string | undefined;
}

export interface EnvScan {
  readonly declarations: EnvDeclaration[];
  /** Variable -> its declarations, sorted by name. */
  readonly variables: Map<string, EnvDeclaration[]>;
}

export interface ScanOptions {
  readonly root?: string;
  /** Program -> entry file (workspace-relative). Default: apps/<program>/src/main.ts. */
  readonly entries?: Partial<Record<string, string>>;
  /** Compiler options (path aliases); default: the workspace's tsconfig.json. */
  readonly compilerOptions?: ts.CompilerOptions;
  /** Loads a config module to learn defaults; default: require (jest and tools/run-ts.cjs both compile TS). */
  readonly loadModule?: (file: string) => Record<string, unknown>;
}

/** Every `*.config.ts` under apps/ and libs/ (not in node_modules or dist), workspace-relative and sorted. */
export function findConfigFiles(root = WORKSPACE_ROOT): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.config.ts')) found.push(path.relative(root, full));
    }
  };
  for (const top of ['apps', 'libs']) if (fs.existsSync(path.join(root, top))) walk(path.join(root, top));
  return found.sort();
}

function workspaceCompilerOptions(root: string): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path.join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`cannot read ${root}/tsconfig.json`);
  return parsed.options;
}

/**
 * A program over the workspace sources only: imports of npm packages stay unresolved (their declarations cannot hold
 * our config schemas), which keeps the analysis to a few seconds.
 */
function createWorkspaceProgram(rootNames: string[], base: ts.CompilerOptions): ts.Program {
  const options: ts.CompilerOptions = { ...base, noEmit: true, noLib: true, types: [] };
  const host = ts.createCompilerHost(options);
  host.resolveModuleNames = (names, containingFile) =>
    names.map((name) => {
      const resolved = ts.resolveModuleName(name, containingFile, options, host).resolvedModule;
      return resolved &&
        !resolved.isExternalLibraryImport &&
        !resolved.resolvedFileName.includes('node_modules')
        ? resolved
        : undefined;
    });
  return ts.createProgram({ rootNames, options, host });
}

function topLevelStatement(node: ts.Node): ts.Statement | undefined {
  let current: ts.Node = node;
  while (current.parent && !ts.isSourceFile(current.parent)) current = current.parent;
  return current.parent && ts.isSourceFile(current.parent) ? (current as ts.Statement) : undefined;
}

/** A type position (annotation, `typeof x` in a type...) that does not run; `class A extends B` does run. */
function isTypeOnly(node: ts.Node): boolean {
  if (ts.isExpressionWithTypeArguments(node)) {
    const clause = node.parent;
    return !(
      ts.isHeritageClause(clause) &&
      clause.token === ts.SyntaxKind.ExtendsKeyword &&
      ts.isClassLike(clause.parent)
    );
  }
  return ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node);
}

/**
 * Top-level statements a program executes or can call, from its entry: every statement of the entry, then whatever
 * their value references declare, transitively; plus the top-level expression statements of every file it touches
 * (they run when the file loads).
 */
function reachableStatements(program: ts.Program, entry: string, isWorkspaceFile: (f: string) => boolean) {
  const checker = program.getTypeChecker();
  const entryFile = program.getSourceFile(entry);
  if (!entryFile) throw new Error(`entry ${entry} is not in the program`);
  const seen = new Set<ts.Statement>();
  const touchedFiles = new Set<ts.SourceFile>();
  const queue: ts.Statement[] = [...entryFile.statements];
  const enqueueFile = (file: ts.SourceFile) => {
    if (touchedFiles.has(file)) return;
    touchedFiles.add(file);
    for (const statement of file.statements) if (ts.isExpressionStatement(statement)) queue.push(statement);
  };
  enqueueFile(entryFile);
  for (let statement = queue.pop(); statement; statement = queue.pop()) {
    if (seen.has(statement)) continue;
    seen.add(statement);
    if (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) continue;
    const visit = (node: ts.Node): void => {
      if (isTypeOnly(node)) return;
      if (ts.isIdentifier(node)) {
        let symbol = checker.getSymbolAtLocation(node);
        if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
        for (const declaration of symbol?.declarations ?? []) {
          const file = declaration.getSourceFile();
          if (!isWorkspaceFile(file.fileName) || ts.isSourceFile(declaration)) continue;
          const top = topLevelStatement(declaration);
          if (top && !seen.has(top)) {
            queue.push(top);
            enqueueFile(file);
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(statement);
  }
  return seen;
}

function commentOf(node: ts.Node, sourceText: string): string {
  const ranges = ts.getLeadingCommentRanges(sourceText, node.getFullStart()) ?? [];
  return ranges
    .map((r) => sourceText.slice(r.pos, r.end))
    .map((c) =>
      c
        .replace(/^\/\*\*?|\*\/$/g, '')
        .replace(/^\s*\/\/ ?/gm, '')
        .replace(/^\s*\* ?/gm, '')
        .trim(),
    )
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

interface SchemaKey {
  readonly variable: string;
  readonly line: number;
  readonly description: string;
  readonly statement: ts.Statement;
  readonly schema: string;
}

const OBJECT_BUILDERS = new Set(['object', 'strictObject', 'looseObject', 'extend']);

/** Keys of `z.object({...})` (and `.extend({...})`) literals that look like environment variable names. */
function schemaKeys(file: ts.SourceFile): SchemaKey[] {
  const keys: SchemaKey[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      OBJECT_BUILDERS.has(node.expression.name.text) &&
      node.arguments.length > 0 &&
      ts.isObjectLiteralExpression(node.arguments[0])
    ) {
      const statement = topLevelStatement(node);
      for (const property of node.arguments[0].properties) {
        const name = property.name;
        const variable = name && (ts.isIdentifier(name) || ts.isStringLiteral(name)) ? name.text : undefined;
        if (!variable || !ENV_NAME.test(variable) || !statement) continue;
        keys.push({
          variable,
          line: file.getLineAndCharacterOfPosition(property.getStart(file)).line + 1,
          description: commentOf(property, file.text),
          statement,
          schema: statementName(statement),
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return keys;
}

function statementName(statement: ts.Statement): string {
  if (ts.isVariableStatement(statement)) {
    const first = statement.declarationList.declarations[0];
    if (first && ts.isIdentifier(first.name)) return first.name.text;
  }
  if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name)
    return statement.name.text;
  return '(anonymous)';
}

interface ZodLike {
  readonly shape: Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;
}

function isZodObject(value: unknown): value is ZodLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    'shape' in value &&
    typeof (value as { shape: unknown }).shape === 'object' &&
    'safeParse' in value
  );
}

/** Required-ness and default of a key, from the module's exported zod objects (the named schema first). */
function describeKey(
  exports: Record<string, unknown> | undefined,
  schema: string,
  variable: string,
): Pick<EnvDeclaration, 'required' | 'defaultValue'> {
  if (!exports) return { required: undefined, defaultValue: undefined };
  const candidates = [exports[schema], ...Object.values(exports)].filter(isZodObject);
  const field = candidates.find((c) => variable in c.shape)?.shape[variable];
  if (!field) return { required: undefined, defaultValue: undefined };
  const result = field.safeParse(undefined);
  if (!result.success) return { required: true, defaultValue: undefined };
  const value = result.data;
  const text =
    value === undefined
      ? ''
      : Array.isArray(value)
        ? value.join(',')
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
  return { required: false, defaultValue: text };
}

/** Scans the workspace: every variable, where it is declared, who reads it, whether it is required, its default. */
export function scanEnvironment(options: ScanOptions = {}): EnvScan {
  const root = options.root ?? WORKSPACE_ROOT;
  const compilerOptions = options.compilerOptions ?? workspaceCompilerOptions(root);
  const entries: Record<string, string> = Object.fromEntries(
    PROGRAMS.map((p) => [p, options.entries?.[p] ?? path.join('apps', p, 'src', 'main.ts')]),
  );
  const present = Object.entries(entries).filter(([, file]) => fs.existsSync(path.join(root, file)));
  const configFiles = findConfigFiles(root);
  const program = createWorkspaceProgram(
    [...present.map(([, f]) => path.join(root, f)), ...configFiles.map((f) => path.join(root, f))],
    compilerOptions,
  );
  const isWorkspaceFile = (f: string) =>
    !f.includes('node_modules') && path.resolve(f).startsWith(path.resolve(root) + path.sep);
  const reach = new Map(
    present.map(([name, file]) => [
      name as ProgramName,
      reachableStatements(program, path.join(root, file), isWorkspaceFile),
    ]),
  );
  const load = options.loadModule ?? ((file: string) => require(file) as Record<string, unknown>);

  const declarations: EnvDeclaration[] = [];
  for (const file of configFiles) {
    const source = program.getSourceFile(path.join(root, file));
    if (!source) continue;
    let exports: Record<string, unknown> | undefined;
    try {
      exports = load(path.join(root, file));
    } catch {
      exports = undefined; // a file that does not load yet still declares its keys
    }
    const owner = PROGRAMS.find((p) => file.startsWith(`apps/${p}/`));
    for (const key of schemaKeys(source)) {
      declarations.push({
        variable: key.variable,
        file,
        line: key.line,
        schema: key.schema,
        description: key.description,
        readBy: PROGRAMS.filter((p) => p === owner || reach.get(p)?.has(key.statement)),
        ...describeKey(exports, key.schema, key.variable),
      });
    }
  }
  const variables = new Map<string, EnvDeclaration[]>();
  for (const d of [...declarations].sort((a, b) => a.variable.localeCompare(b.variable))) {
    variables.set(d.variable, [...(variables.get(d.variable) ?? []), d]);
  }
  return { declarations, variables };
}

/** The variables a program reads, each with whether that program's schemas require it. */
export function variablesReadBy(scan: EnvScan, program: ProgramName): Map<string, { required: boolean }> {
  const out = new Map<string, { required: boolean }>();
  for (const d of scan.declarations) {
    if (!d.readBy.includes(program)) continue;
    const before = out.get(d.variable);
    out.set(d.variable, { required: (before?.required ?? false) || d.required === true });
  }
  return out;
}

/**
 * Names that hold credentials: they must come from a Secret, never a ConfigMap or a plain value. URLs that carry a
 * password (PostgreSQL, SMTP relays) count. values.schema.json refuses the same names in `config`.
 */
export const SECRET_NAME =
  /(SECRET|PASSWORD|PASSPHRASE|TOKEN|KEYS?|CREDENTIALS?)$|^DATABASE_URL$|_SMTP_(URL|OVERRIDES)$/;

export interface DirectEnvRead {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** Places allowed to touch process.env directly, with why. */
const DIRECT_ENV_ALLOWED: readonly { readonly test: (file: string) => boolean; readonly why: string }[] = [
  {
    test: (f) => f.endsWith('.config.ts'),
    why: 'the convention: every variable is a key of a config schema',
  },
  { test: (f) => /\.(spec|int\.spec|e2e-spec)\.ts$/.test(f), why: 'tests' },
  {
    test: (f) => f.startsWith('apps/embedded/'),
    why: 'the embedded launcher hands its environment to the services',
  },
  { test: (f) => /^libs\/testing(-services)?\//.test(f), why: 'test helpers' },
  { test: (f) => /\/(testing|test-support)\//.test(f), why: 'test helpers inside libs' },
  {
    test: (f) => f === 'libs/sandbox-providers/src/main.ts',
    why: 'the standalone emulator launcher (npm run sandbox), not deployed by the chart',
  },
];

/**
 * Reads of environment variables outside the config schemas: `process.env.X`, `process.env['X']`, `<x>.env.X`, and
 * any other use of `process.env` than handing the whole object to a function (e.g. `loadConfig(schema,
 * process.env)`) or as a parameter's default.
 */
export function findDirectEnvReads(root = WORKSPACE_ROOT): DirectEnvRead[] {
  const found: DirectEnvRead[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const rel = path.relative(root, full);
        if (DIRECT_ENV_ALLOWED.some((a) => a.test(rel))) continue;
        const text = fs.readFileSync(full, 'utf8');
        if (!text.includes('env')) continue;
        found.push(...directEnvReadsIn(rel, text));
      }
    }
  };
  for (const top of ['apps', 'libs']) if (fs.existsSync(path.join(root, top))) walk(path.join(root, top));
  return found;
}

function isProcessEnv(node: ts.Node): boolean {
  return (
    ts.isPropertyAccessExpression(node) &&
    node.name.text === 'env' &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === 'process'
  );
}

function endsWithEnv(node: ts.Expression): boolean {
  return (
    (ts.isIdentifier(node) && node.text === 'env') ||
    (ts.isPropertyAccessExpression(node) && node.name.text === 'env')
  );
}

export function directEnvReadsIn(file: string, text: string): DirectEnvRead[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: DirectEnvRead[] = [];
  const report = (node: ts.Node) =>
    found.push({
      file,
      line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
      text: node.getText(source),
    });
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAccessExpression(node) &&
      ENV_NAME.test(node.name.text) &&
      endsWithEnv(node.expression)
    ) {
      report(node);
      return;
    }
    if (
      ts.isElementAccessExpression(node) &&
      endsWithEnv(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      ENV_NAME.test(node.argumentExpression.text)
    ) {
      report(node);
      return;
    }
    if (isProcessEnv(node)) {
      const parent = node.parent;
      const handedOver =
        (ts.isCallExpression(parent) && parent.arguments.includes(node as ts.Expression)) ||
        (ts.isParameter(parent) && parent.initializer === node);
      if (!handedOver) report(parent && !ts.isExpressionStatement(parent) ? parent : node);
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}
