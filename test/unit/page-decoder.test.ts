import { describe, expect, it } from 'vitest';
import { contentHash } from '../../src/model/hash.js';
import { PageDecoder } from '../../src/sources/clever/decode/page-decoder.js';
import { HASH_LENGTH } from '../../src/sources/clever/decode/record-packer.js';

/** One decoder for the file's pages, as a worker has: its buffers are reused from page to page. */
const decoder = new PageDecoder();

function studentsPage(names: string[]): Uint8Array {
  const data = names.map((first, i) => {
    const id = `68000000000000000000${String(i).padStart(4, '0')}`;
    return {
      data: {
        id,
        name: { first, last: 'Ü' },
        roles: { student: { school: 's1', schools: ['s1'], sis_id: `S${i}` } },
      },
      uri: `/v3.0/users/${id}`,
    };
  });
  return new Uint8Array(Buffer.from(JSON.stringify({ data, links: [{ rel: 'self', uri: '/v3.0/users' }] })));
}

describe('page decoder', () => {
  it('packs each record as UTF-8 bytes with its hash, across a record larger than its buffer', () => {
    // One name of 6 MB of multi-byte text (more than the 4 MB the packer starts with) among others.
    const names = ['Zoë', '王小明', '🎓'.repeat(1_500_000), 'Nguyễn', 'plain'];
    const r = decoder.decode(studentsPage(names), { kind: 'users', entity: 'students' });
    if (!r.ok) throw new Error(r.message);
    const p = r.page.records;
    expect(p.count).toBe(names.length);
    const bytes = Buffer.from(p.json.buffer, p.json.byteOffset, p.json.byteLength);
    for (let i = 0; i < p.count; i++) {
      const json = bytes.toString('utf8', i === 0 ? 0 : p.jsonEnd[i - 1]!, p.jsonEnd[i]);
      const data = JSON.parse(json) as { name: { first: string } };
      expect(data.name.first).toBe(names[i]);
      expect(p.hashes.substring(i * HASH_LENGTH, (i + 1) * HASH_LENGTH)).toBe(contentHash(data));
    }
    // The bytes are the page's own, sized exactly, so they can be transferred to another thread.
    expect(p.json.byteLength).toBe(p.jsonEnd[p.count - 1]);
    expect(p.json.buffer.byteLength).toBe(p.json.byteLength);
    // The next page reuses the grown buffer and is still right.
    const again = decoder.decode(studentsPage(['Åsa']), { kind: 'users', entity: 'students' });
    if (!again.ok) throw new Error(again.message);
    expect(Buffer.from(again.page.records.json).toString('utf8')).toContain('"Åsa"');
  });
});

describe('page decoder and U+0000', () => {
  it('removes NUL characters from every mapped string and reports each record that had some', () => {
    const body = JSON.stringify({
      data: [
        {
          data: {
            id: '680000000000000000000001',
            name: { first: 'N\u0000ul', last: 'Ü' },
            email: 'a\u0000@example.org',
            roles: {
              student: {
                school: 's\u00001',
                schools: ['s\u00001'],
                sis_id: 'S\u00001',
                ext: { 'home\u0000room': 'A\u00001' },
              },
            },
          },
          uri: '/v3.0/users/680000000000000000000001',
        },
        {
          data: {
            id: '680000000000000000000002',
            name: { first: 'Clean', last: 'Record' },
            roles: { student: { school: 's1', schools: ['s1'], sis_id: 'S2' } },
          },
          uri: '/v3.0/users/680000000000000000000002',
        },
      ],
      links: [],
    });
    expect(body).toContain('\\u0000'); // JSON carries it escaped
    const r = decoder.decode(new Uint8Array(Buffer.from(body)), { kind: 'users', entity: 'students' });
    if (!r.ok) throw new Error(r.message);
    const p = r.page.records;
    const bytes = Buffer.from(p.json.buffer, p.json.byteOffset, p.json.byteLength);
    expect(bytes.toString('utf8')).not.toContain('\\u0000');
    const first = JSON.parse(bytes.toString('utf8', 0, p.jsonEnd[0])) as Record<string, unknown>;
    expect(first).toMatchObject({
      name: { first: 'Nul' },
      email: 'a@example.org',
      sisId: 'S1',
      schoolId: 's1',
    });
    expect(r.page.notes).toEqual([
      {
        item: 0,
        problem: null,
        warnings: [
          {
            severity: 'warning',
            entity: 'students',
            recordId: '680000000000000000000001',
            field: null,
            reason: 'contained NUL characters (U+0000); they were removed',
          },
        ],
      },
    ]);
  });
});
