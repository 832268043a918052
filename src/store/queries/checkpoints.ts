import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

export interface Checkpoint {
  district: string;
  source: string;
  stream: string;
  runId: string;
  /** The last committed position in the stream (e.g. the last Clever id of a committed page). */
  cursor: string | null;
  pages: number;
  records: number;
  complete: boolean;
  updatedAt: string;
}

/** Per-stream progress, written in the same transaction as the batch it describes. */
export class CheckpointsRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly now: () => string,
  ) {}

  async save(cp: Omit<Checkpoint, 'updatedAt'>): Promise<void> {
    const row = {
      district_id: cp.district,
      source: cp.source,
      stream: cp.stream,
      run_id: cp.runId,
      cursor: cp.cursor,
      pages: cp.pages,
      records: cp.records,
      complete: cp.complete ? 1 : 0,
      updated_at: this.now(),
    };
    await this.db
      .insertInto('checkpoints')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['district_id', 'source', 'stream']).doUpdateSet({
          run_id: row.run_id,
          cursor: row.cursor,
          pages: row.pages,
          records: row.records,
          complete: row.complete,
          updated_at: row.updated_at,
        }),
      )
      .execute();
  }

  async list(district: string): Promise<Checkpoint[]> {
    const rows = await this.db
      .selectFrom('checkpoints')
      .selectAll()
      .where('district_id', '=', district)
      .orderBy('stream')
      .execute();
    return rows.map((r) => ({
      district: r.district_id,
      source: r.source,
      stream: r.stream,
      runId: r.run_id,
      cursor: r.cursor,
      pages: Number(r.pages),
      records: Number(r.records),
      complete: Number(r.complete) === 1,
      updatedAt: r.updated_at,
    }));
  }
}
