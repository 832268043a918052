import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Store } from '../../src/store/store.js';
import { syncFromClever } from '../../src/sync/clever-sync.js';
import { changedNothing } from '../../src/sync/run-report.js';
import { describeEachDatabase } from '../helpers/databases.js';

/**
 * Text that COPY must escape, and multi-byte text, end to end from a Clever page to the store. On a
 * first sync a record's JSON goes from the decoder's bytes straight into COPY (PostgreSQL), short
 * values byte by byte: both paths must escape backslashes, tabs, newlines and carriage returns and
 * keep every character. A small Clever API of its own, because the simulator's names hold none.
 */
const NAMES = [
  'back\\slash',
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'quote"d',
  '\\N',
  'ends\\',
  'Zoë 王小明 👩🏽‍🎓',
  'Nguyễn\\\t"\u00e9',
];
const SIS = ['S\\1', 'S\t2', 'S\n3', 'Ö4', '\\N', 'S6', '👩🏽‍🎓7', 'é8', '9\\'];

const students = NAMES.map((first, i) => ({
  data: {
    id: `5f00000000000000000000${String(i).padStart(2, '0')}`,
    name: { first, last: `Last\\${i}` },
    email: `student${i}@escape.example`,
    roles: { student: { school: 'sch1', schools: ['sch1'], sis_id: SIS[i], grade: '5' } },
  },
}));

function list(items: unknown[]): string {
  return JSON.stringify({ data: items, links: [{ rel: 'self', uri: '/v3.0/x' }] });
}

describeEachDatabase('escapes and multi-byte text from Clever to the store', (dbs) => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url!, 'http://x').pathname;
      const role = new URL(req.url!, 'http://x').searchParams.get('role');
      let body = list([]);
      if (path === '/v3.0/districts') body = list([{ data: { id: 'dist1', name: 'Escape \\ District' } }]);
      else if (path === '/v3.0/schools') body = list([{ data: { id: 'sch1', name: 'Tab\tSchool\\' } }]);
      else if (path === '/v3.0/users' && role === 'student') body = list(students);
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('stores every name and identifier as sent, finds them, and a second sync changes nothing', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      const config = loadConfig({ env: {}, file: '/dev/null', overrides: { 'clever.url': url } });
      const sync = () =>
        syncFromClever({ store, config, logger: silentLogger(), token: 't', retryBaseMs: 5 });
      const first = await sync();
      expect(first.status).toBe('succeeded');
      expect(first.counts.students.created).toBe(NAMES.length);
      expect(first.accounts.provisioned).toBe(NAMES.length);
      const scope = { district: first.district!, source: 'clever' as const };
      const school = await store.records.get(scope, 'schools', 'sch1');
      expect(school?.data.name).toBe('Tab\tSchool\\');
      for (const [i, s] of students.entries()) {
        const got = await store.records.get(scope, 'students', s.data.id);
        expect(got?.data.name).toEqual({ first: NAMES[i], last: `Last\\${i}` });
        expect(got?.data.sisId).toBe(SIS[i]);
        expect(await store.records.findByIdentifier(scope, 'students', 'sis_id', SIS[i]!)).toEqual([
          s.data.id,
        ]);
      }
      const second = await sync();
      expect(second.status).toBe('succeeded');
      expect(changedNothing(second)).toBe(true);
      expect(second.counts.students.unchanged).toBe(NAMES.length);
    } finally {
      await store.close();
    }
  });
});
