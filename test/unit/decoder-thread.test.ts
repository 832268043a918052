import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Decodes one small page in the decoder thread of a Node process started with `flags`. */
const script = `
  import { DecoderThread } from './src/sources/clever/decoder-thread.ts';
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
