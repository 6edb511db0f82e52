// Lints source text as if it were a file of the repository, with the repository's own ESLint config, and prints the
// findings as JSON: `node tools/lint/lint-probe.mjs` reads [{ filePath, code, typed }] on stdin. Used by
// tools/lint/architecture-lint.int.spec.ts (jest cannot load the ESM config itself). `typed: false` lints a file that
// does not exist on disk (the type-aware rules need a file the TypeScript project knows).
import { ESLint } from 'eslint';
import { createProjectGraphAsync } from '@nx/devkit';

const probes = JSON.parse(
  await new Promise((resolve) => {
    let text = '';
    process.stdin.on('data', (chunk) => (text += chunk)).on('end', () => resolve(text));
  }),
);
// The module-boundary rule reads Nx's project graph; build it (cached after the first time).
await createProjectGraphAsync({ exitOnError: false });
const typeAware = ['no-floating-promises', 'no-misused-promises', 'switch-exhaustiveness-check'];
const untyped = new ESLint({
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parserOptions: { projectService: false } },
      rules: Object.fromEntries(typeAware.map((rule) => [`@typescript-eslint/${rule}`, 'off'])),
    },
  ],
});
const typed = new ESLint();
const results = [];
for (const probe of probes) {
  const [result] = await (probe.typed ? typed : untyped).lintText(probe.code, { filePath: probe.filePath });
  results.push(result.messages.map((m) => ({ ruleId: m.ruleId, message: m.message })));
}
process.stdout.write(JSON.stringify(results));
