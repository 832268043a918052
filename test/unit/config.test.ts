import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rs-config-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('configuration', () => {
  it('has defaults', () => {
    const c = loadConfig({ env: {}, file: tmpFile('empty.yaml', '') });
    expect(c.database).toBe('./rostersync.db');
    expect(c.clever).toMatchObject({
      url: 'https://api.clever.com',
      apiVersion: 'v3.0',
      pageSize: 2000,
      requestsPerMinute: 1000,
    });
  });

  it('layers file ← environment ← overrides', () => {
    const file = tmpFile('rs.yaml', 'database: from-file.db\nclever:\n  pageSize: 500\n  apiVersion: v3.1\n');
    const c = loadConfig({
      env: { ROSTERSYNC_CLEVER_PAGE_SIZE: '700', ROSTERSYNC_DATABASE_URL: 'env.db' },
      file,
      overrides: { database: 'flag.db' },
    });
    expect(c.database).toBe('flag.db');
    expect(c.clever.pageSize).toBe(700);
    expect(c.clever.apiVersion).toBe('v3.1');
  });

  it('reads secrets from *_FILE variables', () => {
    const secret = tmpFile('token', 'tok-from-file\n');
    const c = loadConfig({ env: { ROSTERSYNC_CLEVER_TOKEN_FILE: secret }, file: tmpFile('e.yaml', '') });
    expect(c.clever.token).toBe('tok-from-file');
  });

  it('names the bad key', () => {
    expect(() => loadConfig({ env: {}, file: tmpFile('bad.yaml', 'clever:\n  pageSize: 20000\n') })).toThrow(
      /clever\.pageSize/,
    );
    expect(() => loadConfig({ env: {}, file: tmpFile('bad2.yaml', 'databse: x.db\n') })).toThrow(
      /databse|Unrecognized key/,
    );
    expect(() =>
      loadConfig({ env: { ROSTERSYNC_CLEVER_PAGE_SIZE: 'lots' }, file: tmpFile('e.yaml', '') }),
    ).toThrow(/ROSTERSYNC_CLEVER_PAGE_SIZE/);
    expect(() =>
      loadConfig({ env: {}, file: tmpFile('bad3.yaml', 'districts:\n  d1:\n    studentKey: email\n') }),
    ).toThrow(/districts\.d1\.studentKey/);
  });

  it('reads the sign-in settings from the file and ROSTERSYNC_SSO_* / ROSTERSYNC_CLEVER_OAUTH_URL', () => {
    const none = loadConfig({ env: {}, file: tmpFile('empty.yaml', '') });
    expect(none.clever.oauthUrl).toBe('https://clever.com');
    expect(none.sso).toEqual({});
    const pem = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----';
    const keyFile = tmpFile('sso.pem', `${pem}\n`);
    const c = loadConfig({
      env: {
        ROSTERSYNC_CLEVER_OAUTH_URL: 'http://127.0.0.1:9000',
        ROSTERSYNC_SSO_REDIRECT_URI: 'https://roster.example.org/auth/clever/callback',
        ROSTERSYNC_SSO_SIGNING_KEY_FILE: keyFile,
      },
      file: tmpFile('sso.yaml', 'sso:\n  appUrl: https://app.example.org/sso\n'),
    });
    expect(c.clever.oauthUrl).toBe('http://127.0.0.1:9000');
    expect(c.sso).toEqual({
      redirectUri: 'https://roster.example.org/auth/clever/callback',
      appUrl: 'https://app.example.org/sso',
      signingKey: pem,
    });
    expect(() =>
      loadConfig({ env: { ROSTERSYNC_SSO_APP_URL: 'not a url' }, file: tmpFile('e.yaml', '') }),
    ).toThrow(/sso\.appUrl/);
  });

  it('rejects a file that is not a mapping', () => {
    expect(() => loadConfig({ env: {}, file: tmpFile('list.yaml', '- a\n- b\n') })).toThrow(/mapping/);
  });
});
