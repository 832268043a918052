import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PageDecoder } from '../../src/sources/clever/decode/page-decoder.js';
import { RAW_VERSION } from '../../src/sources/clever/decode/record-packer.js';
import type { PageKind } from '../../src/sources/clever/decode/page-decoder.js';

/** One decoder for the file's pages, as a worker has: its buffers are reused from page to page. */
const decoder = new PageDecoder();

/**
 * A stored record is recognised by the raw hash of its item's bytes only while the same bytes map
 * to the same record, and RAW_VERSION is what says so (see page-decoder.ts). This test pins what a
 * set of sample items maps to under the current version. When it fails, the mapping changed: bump
 * RAW_VERSION (stored records are then mapped again on their next sync) and pin the new digest with
 * it. A new digest under the old version would leave stored records that no longer match their items.
 */

const student = {
  id: '6880000000000000000000a1',
  name: { first: 'Zoë', middle: 'Q', last: 'Nguyễn' },
  email: 'zoe@example.org',
  district: 'd1',
  created: '2025-08-01T02:00:00.000Z',
  last_modified: '2025-08-02T02:00:00.000Z',
  roles: {
    student: {
      school: 's1',
      schools: ['s1', 's2'],
      sis_id: 'S-1',
      state_id: 'ST-1',
      student_number: '0001',
      dob: '3/7/2012',
      grade: '7',
      gender: 'F',
      hispanic_ethnicity: 'N',
      race: 'Asian',
      ell_status: 'N',
      iep_status: 'Y',
      frl_status: 'Free',
      home_language: 'Vietnamese',
      graduation_year: '2030',
      location: { address: '1 Main St', city: 'Madison', state: 'WI', zip: '53703' },
      credentials: { district_username: 'zoe.n' },
      ext: { homeroom: '7B', flags: [1, 'x'] },
      unknown_key: 'ignored',
    },
  },
};
const teacher = {
  id: '6880000000000000000000b1',
  name: { first: 'Pat', last: 'Lee' },
  email: 'PAT.LEE@example.org',
  roles: {
    teacher: {
      school: 's1',
      schools: ['s1'],
      sis_id: 'T-1',
      teacher_number: 'T7',
      title: 'Ms',
      credentials: {},
    },
    staff: { school: 's2', schools: ['s2'], staff_id: 'X-9', title: 'Coach', department: 'PE' },
    district_admin: { title: 'Lead' },
  },
};
const contact = {
  id: '6880000000000000000000c1',
  name: { first: 'Ann', last: 'Lee' },
  email: '',
  roles: {
    contact: {
      sis_id: null,
      phone: '555-0100',
      phone_type: 'Cell',
      legacy_id: 'L1',
      student_relationships: [
        { student: '6880000000000000000000a1', relationship: 'Parent', type: 'Parent/Guardian' },
        { student: '6880000000000000000000a2', relationship: 'Aunt', type: 'Emergency' },
      ],
    },
  },
};
const section = {
  id: '6880000000000000000000d1',
  name: 'Math 7',
  school: 's1',
  course: 'c1',
  term_id: 't1',
  period: '2',
  grade: 'Kindergarten',
  subject: 'math',
  section_number: '7-2',
  sis_id: 'SEC-1',
  teacher: '6880000000000000000000b1',
  teachers: ['6880000000000000000000b1'],
  students: ['6880000000000000000000a1', '6880000000000000000000a2', '6880000000000000000000a1'],
  ext: {},
};

function page(items: unknown[]): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify({ data: items.map((data) => ({ data })), links: [] })));
}

describe('the raw hash version', () => {
  it('pins what sample items map to under it', () => {
    const digest = createHash('sha256');
    const kinds: Array<[PageKind, unknown[]]> = [
      [{ kind: 'users', entity: 'students' }, [student]],
      [{ kind: 'users', entity: 'staff' }, [teacher]],
      [{ kind: 'users', entity: 'contacts' }, [contact]],
      [{ kind: 'simple', entity: 'sections' }, [section]],
    ];
    for (const [what, items] of kinds) {
      const r = decoder.decode(page(items), what);
      if (!r.ok) throw new Error(r.message);
      expect(r.page.records.count).toBe(1);
      digest.update(Buffer.from(r.page.records.json));
      digest.update(JSON.stringify(r.page.notes));
    }
    expect({ version: RAW_VERSION, mapped: digest.digest('base64url') }).toEqual({
      version: 'm1.',
      mapped: 'dD4wVQ9P3ag6wENnlcpYTss4qf3NwhS2C4BadMO7rgY',
    });
  });
});
