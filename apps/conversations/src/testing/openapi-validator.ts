import { execFile } from 'node:child_process';

/**
 * Validates an OpenAPI document with @apidevtools/swagger-parser. The validator's dependencies are ES modules, which
 * jest's module loader cannot require, so it runs in a plain Node process (where require(esm) works) fed on stdin.
 */
export function validateOpenApi(doc: unknown): Promise<{ valid: true } | { valid: false; error: string }> {
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
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['-e', script],
      { cwd: process.cwd(), maxBuffer: 10 * 1024 * 1024 },
      (error, stdout) => {
        if (error) return reject(error);
        resolve(stdout === 'valid' ? { valid: true } : { valid: false, error: stdout });
      },
    );
    child.stdin?.end(JSON.stringify(doc));
  });
}
