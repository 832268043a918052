import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey, listApiKeys, revokeApiKey, verifyApiKey } from '../../../src/accounts/api-keys.js';
import { Store } from '../../../src/store/store.js';
import { describeEachDatabase } from '../../helpers/databases.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['bin/rostersync.js', ...args], {
      env: { ...process.env, ROSTERSYNC_LOG_LEVEL: 'silent', ROSTERSYNC_HEAP_MB: '0' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describeEachDatabase('API keys', (dbs) => {
  let location: string;
  let store: Store;
  beforeAll(async () => {
    location = await dbs.fresh();
    store = await Store.open({ location });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('creates a key that verifies, keeps only its hash, and refuses it once revoked', async () => {
    const { key, token } = await createApiKey(store, { name: 'vendor app', scope: 'read' });
    expect(token).toMatch(/^rsk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(await verifyApiKey(store, token)).toMatchObject({ id: key.id, scope: 'read', name: 'vendor app' });
    // The stored row holds neither the token nor its secret part.
    const row = await store.apiKeys.get(key.id);
    const secret = token.split('.')[1]!;
    expect(JSON.stringify(row)).not.toContain(secret);
    expect((await store.apiKeys.get(key.id))?.lastUsedAt).not.toBeNull();
    // A changed secret, another key's secret, garbage: refused.
    const other = await createApiKey(store, { name: 'other', scope: 'admin' });
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect(await verifyApiKey(store, flipped)).toBeNull();
    expect(await verifyApiKey(store, `rsk_${key.id}.${other.token.split('.')[1]!}`)).toBeNull();
    expect(await verifyApiKey(store, 'rsk_0000000000000000.' + 'A'.repeat(43))).toBeNull();
    expect(await verifyApiKey(store, '')).toBeNull();
    expect((await listApiKeys(store)).map((k) => [k.name, k.scope])).toEqual([
      ['vendor app', 'read'],
      ['other', 'admin'],
    ]);
    expect(JSON.stringify(await listApiKeys(store))).not.toContain('secret');
    await revokeApiKey(store, key.id);
    expect(await verifyApiKey(store, token)).toBeNull();
    await expect(revokeApiKey(store, key.id)).rejects.toMatchObject({ code: 'conflict' });
    await expect(revokeApiKey(store, 'nope')).rejects.toMatchObject({ code: 'not_found' });
    await expect(createApiKey(store, { name: '  ', scope: 'read' })).rejects.toMatchObject({ code: 'input' });
  });

  it('rostersync api-keys create | list | revoke', { timeout: 60_000 }, async () => {
    const created = await cli([
      'api-keys',
      'create',
      '--name',
      'cli key',
      '--scope',
      'admin',
      '--database',
      location,
    ]);
    expect(created.code).toBe(0);
    const token = /key \(shown once\): (\S+)/.exec(created.stdout)?.[1];
    const id = /api key ([0-9a-f]{16}) \(admin\) created/.exec(created.stdout)?.[1];
    expect(token && id).toBeTruthy();
    expect((await verifyApiKey(store, token!))?.scope).toBe('admin');
    const listed = await cli(['api-keys', 'list', '--json', '--database', location]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(token!.split('.')[1]!);
    expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((k) => k.id)).toContain(id);
    const bad = await cli(['api-keys', 'create', '--name', 'x', '--scope', 'root', '--database', location]);
    expect(bad.code).toBe(1);
    expect((await cli(['api-keys', 'revoke', id!, '--database', location])).code).toBe(0);
    expect(await verifyApiKey(store, token!)).toBeNull();
    expect((await cli(['api-keys', 'revoke', id!, '--database', location])).code).toBe(1);
  });
});
