import { execFile } from 'node:child_process';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/* eslint-disable @typescript-eslint/no-explicit-any -- OpenAPI documents are walked as plain JSON */
type Json = any;

/**
 * Validates an OpenAPI document with @apidevtools/swagger-parser (in a plain Node process: its dependencies are ES
 * modules jest cannot require), plus what the parser does not check: every security requirement names a defined
 * scheme.
 */
export async function validateOpenApiDocument(doc: Json): Promise<string[]> {
  const problems: string[] = [];
  const schemes = Object.keys(doc?.components?.securitySchemes ?? {});
  for (const [path, operations] of Object.entries<Json>(doc?.paths ?? {}))
    for (const [method, op] of Object.entries<Json>(operations))
      for (const requirement of op?.security ?? [])
        for (const name of Object.keys(requirement))
          if (!schemes.includes(name))
            problems.push(`${method.toUpperCase()} ${path}: security scheme "${name}" is not defined`);
  const script = `
    const SwaggerParser = require('@apidevtools/swagger-parser');
    let input = '';
    process.stdin.on('data', (c) => (input += c));
    process.stdin.on('end', () =>
      SwaggerParser.validate(JSON.parse(input)).then(
        () => process.stdout.write('valid'),
        (e) => process.stdout.write('invalid: ' + e.message),
      ),
    );`;
  const verdict = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['-e', script],
      { cwd: process.cwd(), maxBuffer: 10 * 1024 * 1024 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
    child.stdin?.end(JSON.stringify(doc));
  });
  if (verdict !== 'valid') problems.push(verdict);
  return problems;
}

/**
 * OpenAPI 3.0 schema -> JSON Schema (draft 7) as ajv reads it, as strictly as 3.0.3 says: `nullable: true` allows null,
 * except where an `enum` does not list null; siblings of `$ref` are ignored (so a nullable `$ref` is not nullable).
 */
function toJsonSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (!schema || typeof schema !== 'object') return schema;
  if (typeof schema.$ref === 'string') return { $ref: schema.$ref };
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'nullable' || key === 'example' || key === 'examples') continue;
    out[key] =
      key === 'properties' || key === 'schemas'
        ? Object.fromEntries(
            Object.entries<Json>(value as Record<string, Json>).map(([k, v]) => [k, toJsonSchema(v)]),
          )
        : toJsonSchema(value);
  }
  const nullAllowed = schema.nullable === true && (!Array.isArray(schema.enum) || schema.enum.includes(null));
  return nullAllowed ? { anyOf: [out, { type: 'null' }] } : out;
}

export interface ObservedResponse {
  readonly method: string;
  /** The request path, query string allowed. */
  readonly path: string;
  readonly status: number;
  readonly contentType: string | null;
  /** Parsed JSON, the text, or undefined when empty. */
  readonly body: unknown;
}

/**
 * Checks real responses against an OpenAPI document: the route and its status must be documented, the content type
 * too, and a JSON body must match the documented schema (null only where the schema says nullable).
 */
export class OpenApiConformance {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly routes: { method: string; template: string; pattern: RegExp; literal: number }[];
  readonly exercised = new Set<string>();

  constructor(private readonly doc: Json) {
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addFormat('binary', true);
    this.ajv.addSchema({ $id: 'openapi', components: toJsonSchema(doc.components ?? {}) });
    this.routes = Object.entries<Json>(doc.paths ?? {}).flatMap(([template, ops]) =>
      Object.keys(ops).map((method) => ({
        method: method.toLowerCase(),
        template,
        pattern: new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`,
        ),
        literal: template.split('/').filter((s) => s && !s.startsWith('{')).length,
      })),
    );
  }

  /** Every documented operation, as "get /v1/...". */
  operations(): string[] {
    return this.routes.map((r) => `${r.method} ${r.template}`);
  }

  /** The documented operation a request lands on (the most literal template wins), or undefined. */
  operationOf(method: string, path: string): string | undefined {
    const pathname = path.split('?')[0];
    const route = this.routes
      .filter((r) => r.method === method.toLowerCase() && r.pattern.test(pathname))
      .sort((a, b) => b.literal - a.literal)[0];
    return route ? `${route.method} ${route.template}` : undefined;
  }

  /** Problems of one response (empty when it matches the document). */
  check(response: ObservedResponse): string[] {
    const operation = this.operationOf(response.method, response.path);
    const where = `${response.method.toUpperCase()} ${response.path} -> ${response.status}`;
    if (!operation) return [`${where}: the route is not documented`];
    this.exercised.add(operation);
    const [method, template] = operation.split(' ');
    const op = this.doc.paths[template][method];
    const documented = op.responses?.[String(response.status)] ?? op.responses?.default;
    if (!documented)
      return [
        `${where}: status ${response.status} is not documented (documented: ${Object.keys(op.responses ?? {}).join(', ')})`,
      ];
    const content = documented.content as Record<string, Json> | undefined;
    const empty = response.body === undefined || response.body === '';
    if (!content || Object.keys(content).length === 0)
      return empty ? [] : [`${where}: the document says no body, one was sent (${response.contentType})`];
    const mediaType = (response.contentType ?? '').split(';')[0].trim().toLowerCase();
    const entry =
      content[mediaType] ??
      Object.entries(content).find(
        ([type]) => type.endsWith('/*') && mediaType.startsWith(type.slice(0, -1)),
      )?.[1] ??
      content['*/*'];
    if (!entry)
      return [
        `${where}: content type ${mediaType || '(none)'} is not documented (documented: ${Object.keys(content).join(', ')})`,
      ];
    if (!mediaType.endsWith('json') || !entry.schema) return [];
    const key = `${operation} ${response.status} ${mediaType}`;
    let validate = this.validators.get(key);
    if (!validate) {
      const schema = JSON.parse(
        JSON.stringify(toJsonSchema(entry.schema)).replace(/"#\/components\//g, '"openapi#/components/'),
      );
      validate = this.ajv.compile(schema);
      this.validators.set(key, validate);
    }
    if (validate(response.body)) return [];
    return (validate.errors ?? []).map(
      (e) => `${where}: body${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`,
    );
  }
}
