import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { SecretBox } from '../../src/store/secrets.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { withFreshStore } from './fixtures.js';

describeEachDatabase('store: districts', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('keeps district configuration and stores tokens encrypted', async () => {
    const d = await store.districts.ensure('dist-1', 'Springfield');
    expect(d.config.studentKey).toBe('sis_id');
    await store.districts.setConfig('dist-1', { ...d.config, studentKey: 'student_number' });
    expect((await store.districts.get('dist-1'))?.config.studentKey).toBe('student_number');
    const box = new SecretBox(Buffer.alloc(32, 7));
    await store.districts.setToken('dist-1', 'secret-token-123', box);
    expect(await store.districts.getToken('dist-1', box)).toBe('secret-token-123');
    const other = new SecretBox(Buffer.alloc(32, 8));
    await expect(store.districts.getToken('dist-1', other)).rejects.toThrow(/secretKey/);
  });
});
