import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Decodes one small page in the decoder thread of a Node process started with `flags`. */
const script = `
  import { DecoderThread } from './src/sources/clever/decode/decoder-thread.ts';
  const body = JSON.stringify({
    data: [{ data: { id: 's1', name: 'Zoë School', sis_id: 'S1' }, uri: '/v3.0/schools/s1' }],
    links: [{ rel: 'self', uri: '/v3.0/schools' }],
  });
  const thread = new DecoderThread();
  const r = await thread.decode(new Uint8Array(Buffer.from(body)), { kind: 'simple', entity: 'schools' });
  await thread.close();
  console.log(JSON.stringify(r.ok ? { ids: r.page.records.sourceIds, lastId: r.page.lastId } : r));
`;

describe('decoder thread', () => {
  it('starts when the process has V8 flags a worker refuses, and keeps the Node flags it accepts', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--max-semi-space-size=16',
        '--stack-size=2000',
        '--enable-source-maps',
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: process.cwd() },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ ids: ['s1'], lastId: 's1' });
  });
});

/** Packages and modules reached from `entry` through runtime imports (type-only imports are erased). */
function runtimeImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s+(?!type\b)[^'"]*?from\s+'([^']+)';/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else seen.add(spec);
    }
  };
  visit(resolve(entry));
  return seen;
}

describe('decoder worker', () => {
  it('loads neither the HTTP client nor zod (each is a good part of its start)', () => {
    const reached = runtimeImports('src/sources/clever/decode/page-worker.ts');
    expect(reached.has(resolve('src/sources/clever/decode/page-decoder.ts'))).toBe(true);
    expect([...reached].filter((m) => /^(undici|zod|p-queue)$|clever-client\.ts$/.test(m))).toEqual([]);
  });
});
