import fs from 'node:fs';
import path from 'node:path';

// A source file over 400 lines does several jobs: split it along its seams. Tests (and test support), migrations and
// generated files aside.
const root = path.resolve(__dirname, '../..');
const MAX_LINES = 400;

/** Not yet split (the list only shrinks). */
const KNOWN_LARGE: readonly string[] = [];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory())
      return ['node_modules', 'migrations', 'testing', 'test-support'].includes(entry.name)
        ? []
        : sources(full);
    return entry.name.endsWith('.ts') && !/\.(spec|e2e-spec)\.ts$/.test(entry.name) ? [full] : [];
  });
}

function largeFiles(): string[] {
  return [...sources(path.join(root, 'apps')), ...sources(path.join(root, 'libs'))]
    .filter((file) => fs.readFileSync(file, 'utf8').split('\n').length > MAX_LINES + 1)
    .map((file) => path.relative(root, file).split(path.sep).join('/'))
    .sort();
}

describe('file size', () => {
  it(`no source file in apps/ or libs/ above ${MAX_LINES} lines beyond the known ones`, () => {
    expect(largeFiles().filter((file) => !KNOWN_LARGE.includes(file))).toEqual([]);
  });

  it('every known large file is still large (a split file leaves the list)', () => {
    const large = largeFiles();
    expect(KNOWN_LARGE.filter((file) => !large.includes(file))).toEqual([]);
  });
});
