import { spawn } from 'node:child_process';

// @seriousme/openapi-schema-validator is an ES module, which jest's CommonJS runtime cannot load
// here: it runs in a plain Node process instead, the document on its stdin.
const SCRIPT = `
import { Validator } from '@seriousme/openapi-schema-validator';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const result = await new Validator().validate(JSON.parse(text));
process.stdout.write(JSON.stringify({ valid: result.valid, errors: result.errors ?? [] }));
`;

/** Validates an OpenAPI document with @seriousme/openapi-schema-validator (the 3.0 and 3.1 JSON Schemas). */
export function validateOpenApi(document: unknown): Promise<{ valid: boolean; errors: unknown[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as { valid: boolean; errors: unknown[] });
      else reject(new Error(`the validator exited with ${code}: ${err}`));
    });
    child.stdin.end(JSON.stringify(document));
  });
}
