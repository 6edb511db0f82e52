// The HTTP routes each service serves, read from its Nest controllers (@Controller + @Get/@Post/...), so the chart's
// ingress test follows the code: every public /v1 route reaches its service, no internal route is exposed.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { SERVICES, ServiceName, WORKSPACE_ROOT } from './env-scan';

export interface HttpRoute {
  readonly service: ServiceName;
  readonly method: string;
  /** Without a leading slash, parameters as Nest writes them (`v1/locations/:locationId/...`). */
  readonly path: string;
  readonly file: string;
}

const METHODS = new Set(['Get', 'Post', 'Put', 'Patch', 'Delete', 'All', 'Head', 'Options']);

function decoratorCall(node: ts.Node, names: Set<string>): ts.CallExpression | undefined {
  for (const d of ts.canHaveDecorators(node) ? (ts.getDecorators(node) ?? []) : []) {
    if (ts.isCallExpression(d.expression) && ts.isIdentifier(d.expression.expression)) {
      if (names.has(d.expression.expression.text)) return d.expression;
    }
  }
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testing' || e.name === '__fixtures__' ? [] : sourceFiles(full);
    return e.name.endsWith('.ts') && !/\.(spec|int\.spec|e2e-spec|d)\.ts$/.test(e.name) ? [full] : [];
  });
}

/** Every route of the four services; throws on a route path it cannot read (not a literal or a local constant). */
export function controllerRoutes(root = WORKSPACE_ROOT): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const service of SERVICES) {
    const srcDir = path.join(root, 'apps', service, 'src');
    if (!fs.existsSync(srcDir)) continue;
    for (const file of sourceFiles(srcDir)) {
      const text = fs.readFileSync(file, 'utf8');
      if (!text.includes('@Controller')) continue;
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const constants = new Map<string, string>();
      for (const statement of source.statements) {
        if (!ts.isVariableStatement(statement)) continue;
        for (const d of statement.declarationList.declarations) {
          if (ts.isIdentifier(d.name) && d.initializer && ts.isStringLiteralLike(d.initializer))
            constants.set(d.name.text, d.initializer.text);
        }
      }
      const rel = path.relative(root, file);
      const pathArg = (call: ts.CallExpression): string => {
        const arg = call.arguments[0];
        if (!arg) return '';
        if (ts.isStringLiteralLike(arg)) return arg.text;
        const constant = ts.isIdentifier(arg) ? constants.get(arg.text) : undefined;
        if (constant !== undefined) return constant;
        throw new Error(`${rel}: cannot read the route path ${arg.getText(source)}`);
      };
      for (const statement of source.statements) {
        if (!ts.isClassDeclaration(statement)) continue;
        const controller = decoratorCall(statement, new Set(['Controller']));
        if (!controller) continue;
        const prefix = pathArg(controller);
        for (const member of statement.members) {
          const call = decoratorCall(member, METHODS);
          if (!call || !ts.isIdentifier(call.expression)) continue;
          const full = [prefix, pathArg(call)]
            .map((p) => p.replace(/^\/+|\/+$/g, ''))
            .filter(Boolean)
            .join('/');
          routes.push({ service, method: call.expression.text.toUpperCase(), path: full, file: rel });
        }
      }
    }
  }
  return routes;
}

/** A concrete request path for a route: `/v1/locations/:locationId` -> `/v1/locations/p1`. */
export function samplePath(route: HttpRoute): string {
  let n = 0;
  return `/${route.path.replace(/:[A-Za-z]+/g, () => `p${++n}`)}`;
}
