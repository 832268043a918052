import { describe, expect, it } from 'vitest';
import { copyEscape, lineValues, RowTextWriter } from '../../src/store/encoding/row-text.js';

describe('rows as COPY text', () => {
  const hostile = [
    'plain',
    '',
    'back\\slash',
    'tab\there',
    'new\nline',
    'carriage\rreturn',
    '\\N',
    '\\t literally',
    'ascii first, then Zoë',
    '王小明 👩🏽‍🎓',
    'x'.repeat(100_000) + 'é', // longer than the writer's first buffer, non-ASCII at the very end
  ];

  it('encodes values and JSON so that decoding gives them back, null apart from every string', () => {
    const w = new RowTextWriter();
    for (const v of hostile) {
      w.value(v);
      w.value(null);
      w.json(JSON.stringify({ v }));
      // `plain` takes any value too: what is not printable ASCII goes the way of `value`.
      w.plain(v);
      w.plain(null);
      w.plain(`m1.${v.length}`.repeat(2).substring(1));
      w.endLine();
    }
    const { bytes, ends } = w.finish();
    expect(w.lines).toBe(hostile.length);
    expect(ends).toHaveLength(hostile.length);
    expect(bytes.byteLength).toBe(ends[ends.length - 1]);
    const rows = lineValues({ bytes, ends, first: 0, last: hostile.length });
    const row = (v: string) => [
      v,
      null,
      JSON.stringify({ v }),
      v,
      null,
      `m1.${v.length}`.repeat(2).substring(1),
    ];
    expect(rows).toEqual(hostile.map(row));
    // Each line alone, from the middle of the page.
    expect(lineValues({ bytes, ends, first: 2, last: 4 })).toEqual(hostile.slice(2, 4).map(row));
    // The encoding is PostgreSQL's: no raw tab or newline inside a value, `\N` for null only.
    const text = Buffer.from(bytes).toString('utf8');
    expect(text.split('\n')).toHaveLength(hostile.length + 1);
    expect(text.split('\n')[2]).toBe(
      'back\\\\slash\t\\N\t{"v":"back\\\\\\\\slash"}\tback\\\\slash\t\\N\t1.10m1.10',
    );
    expect(copyEscape('\\N')).toBe('\\\\N');
    expect(copyEscape(null)).toBe('\\N');
  });
});
