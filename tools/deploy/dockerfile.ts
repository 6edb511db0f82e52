// Reads docker/Dockerfile and .dockerignore without a Docker engine (none on this machine, nor needed by CI): stages,
// instructions, and which files the build context sends.
import fs from 'node:fs';
import path from 'node:path';
import { WORKSPACE_ROOT } from './env-scan';

export const DOCKERFILE = path.join(WORKSPACE_ROOT, 'docker', 'Dockerfile');
export const DOCKERIGNORE = path.join(WORKSPACE_ROOT, '.dockerignore');

export interface Instruction {
  /** Upper-case keyword, e.g. COPY. */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly rest: string;
  readonly line: number;
}

export interface Stage {
  readonly name: string;
  /** The FROM image or stage. */
  readonly from: string;
  readonly instructions: Instruction[];
}

export interface ParsedDockerfile {
  /** ARGs before the first FROM, with their defaults. */
  readonly globalArgs: Record<string, string>;
  readonly stages: Stage[];
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return;
    if (!pending) start = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (match) instructions.push({ keyword: match[1].toUpperCase(), rest: match[2], line: start });
  });
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.rest);
      if (!m) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.rest}`);
      stages.push({ from: m[1], name: m[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [name, value = ''] = instruction.rest.split('=');
        globalArgs[name.trim()] = value.trim();
      }
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

export function readDockerfile(file = DOCKERFILE): ParsedDockerfile {
  return parseDockerfile(fs.readFileSync(file, 'utf8'));
}

export interface CopyInstruction {
  /** The stage copied from (--from), undefined for the build context. */
  readonly from?: string;
  readonly sources: string[];
  readonly destination: string;
}

export function copiesOf(stage: Stage): CopyInstruction[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const words = i.rest.split(/\s+/).filter(Boolean);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      return { from, sources: paths.slice(0, -1), destination: paths[paths.length - 1] };
    });
}

/** The exec-form CMD/ENTRYPOINT of a stage (JSON array), undefined when absent. */
export function execForm(stage: Stage, keyword: 'CMD' | 'ENTRYPOINT'): string[] | undefined {
  const found = stage.instructions.filter((i) => i.keyword === keyword).pop();
  if (!found) return undefined;
  const parsed = JSON.parse(found.rest) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string'))
    throw new Error(`line ${found.line}: ${keyword} must be the exec form (a JSON array of strings)`);
  return parsed;
}

/** The stage and its ancestors (FROM <stage>), nearest first. */
export function lineage(dockerfile: ParsedDockerfile, name: string): Stage[] {
  const chain: Stage[] = [];
  let current = dockerfile.stages.find((s) => s.name === name);
  while (current) {
    chain.push(current);
    const parent = current.from;
    current = dockerfile.stages.find((s) => s.name === parent);
  }
  return chain;
}

/** The last value of an instruction along a stage's lineage (WORKDIR, USER...). */
export function effective(dockerfile: ParsedDockerfile, name: string, keyword: string): string | undefined {
  for (const stage of lineage(dockerfile, name)) {
    const found = stage.instructions.filter((i) => i.keyword === keyword).pop();
    if (found) return found.rest;
  }
  return undefined;
}

/** A .dockerignore pattern as a regular expression over context-relative paths (Go filepath.Match plus `**`). */
function patternToRegExp(pattern: string): RegExp {
  let re = '';
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*') {
      // `**/` is zero or more directories; a trailing `**` is anything.
      if (p[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i++;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether the build context sends a file (context-relative path): the last matching rule decides, a rule matching a
 * parent directory matches everything under it, `!` re-includes (Docker's semantics).
 */
export function isInBuildContext(file: string, ignoreText = fs.readFileSync(DOCKERIGNORE, 'utf8')): boolean {
  const rules = ignoreText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => ({ exclude: !l.startsWith('!'), re: patternToRegExp(l.replace(/^!/, '')) }));
  const parts = file.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const rule of rules) if (candidates.some((c) => rule.re.test(c))) included = !rule.exclude;
  return included;
}
