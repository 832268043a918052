import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleverSource } from '../../src/sources/clever/clever-source.js';
import type { EventPage } from '../../src/sources/source.js';

/**
 * Event payloads the simulator does not produce: an unknown type, `previous_attributes` beside
 * `data` (Clever's v3 spec) instead of inside it, a district event, an event without an object, a
 * user who lost a role. Served by a real local HTTP server.
 */
const student = {
  id: 'u1',
  name: { first: 'A', last: 'B' },
  roles: { student: { school: 's1', schools: ['s1'], sis_id: '1' } },
};
const events = [
  { id: 'e1', type: 'resources.created', created: 'x', data: { object: { id: 'r1' } } },
  // The roles changed (a teacher became a student): the staff record goes.
  { id: 'e2', type: 'users.updated', data: { object: student }, previous_attributes: { roles: {} } },
  // Only the name changed (previous attributes inside data): no deletes of other entities.
  {
    id: 'e3',
    type: 'users.updated',
    data: { object: student, previous_attributes: { name: { first: 'C', last: 'B' } } },
  },
  { id: 'e4', type: 'districts.updated', data: { object: { id: 'd1', name: 'D' } } },
  { id: 'e5', type: 'sections.updated', data: {} },
  { id: 'e6', type: 'schools.deleted', data: { object: { id: 's9', name: 'S' } } },
  { id: 'e7', type: 'users.deleted', data: { object: student } },
  // A student joined and the primary teacher changed: only they are new members.
  {
    id: 'e8',
    type: 'sections.updated',
    data: {
      object: { id: 'sec1', school: 's1', students: ['u1', 'u2'], teacher: 't2', teachers: ['t2'] },
      previous_attributes: { students: ['u1'], teacher: 't1' },
    },
  },
];

describe('the Clever event feed', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      res.setHeader('content-type', 'application/json');
      if (u.pathname === '/v3.0/events/e2') return res.end(JSON.stringify({ data: events[1] }));
      if (u.pathname.startsWith('/v3.0/events/')) {
        res.statusCode = 404;
        return res.end('{"message":"not found"}');
      }
      if (u.pathname === '/v3.0/events') {
        const after = u.searchParams.get('starting_after');
        const from = after ? events.findIndex((e) => e.id === after) + 1 : 0;
        const page = events.slice(from, from + 4);
        const last = page[page.length - 1];
        const links =
          from + 4 < events.length && last
            ? [{ rel: 'next', uri: `/v3.0/events?limit=4&starting_after=${last.id}` }]
            : [];
        return res.end(
          JSON.stringify({ data: page.map((e) => ({ data: e, uri: `/v3.0/events/${e.id}` })), links }),
        );
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('maps each event as a full walk maps its record, and reports what it cannot use', async () => {
    const source = new CleverSource({
      baseUrl: url,
      token: 't',
      apiVersion: 'v3.0',
      pageSize: 4,
      decodeInWorker: false,
    });
    try {
      const feed = source.events();
      expect(await feed.has('e2')).toBe(true);
      expect(await feed.has('gone')).toBe(false);
      const pages: EventPage[] = [];
      for await (const p of feed.pages('')) pages.push(p);
      expect(pages.map((p) => [p.events, p.cursor])).toEqual([
        [4, 'e4'],
        [4, 'e8'],
      ]);
      const changes = pages.flatMap((p) => p.changes);
      const summary = changes.map((c) =>
        c.kind === 'upsert'
          ? `upsert ${c.record.entity} ${c.record.sourceId}`
          : c.kind === 'delete'
            ? `delete ${c.entity} ${c.sourceId}`
            : 'district',
      );
      expect(summary).toEqual([
        'delete staff u1',
        'delete contacts u1',
        'upsert students u1',
        'upsert students u1',
        'district',
        'delete schools s9',
        'delete students u1',
        'delete staff u1',
        'delete contacts u1',
        'upsert sections sec1',
      ]);
      const section = changes.at(-1);
      expect(section?.kind === 'upsert' ? section.newMembers : null).toEqual(['u2', 't2']);
      const problems = pages.flatMap((p) => p.problems);
      expect(problems.map((p) => [p.recordId, p.field])).toEqual([
        ['e1', 'type'],
        ['e5', 'data.object'],
      ]);
      expect(problems.every((p) => p.severity === 'warning')).toBe(true);
    } finally {
      await source.close();
    }
  });
});
