import type { Entity } from '../model/entities.js';
import { errorMessage } from '../shared/errors.js';
import type { Store } from '../store/store.js';
import type { RunContext } from './run-context.js';

/**
 * Gives the planner statistics while tables grow from empty: once, when a run has added 4,000
 * rows of an entity. At that size ANALYZE reads the whole table, so it is cheap, and it records
 * which columns are unique (n_distinct -1, which scales with the table). From then on PostgreSQL
 * scales its estimates by the table's current size, so the plans stay right as it grows, and
 * autovacuum takes over (its analyze threshold is 10% of the 4,000 rows). A second refresh at a
 * larger size costs more than it saves (see docs/benchmarks.md). Changed rows do not count: a run
 * that updates a large table (an events sync's sections) would pay a sample of the whole table
 * for plans that have not changed.
 *
 * The refresh runs beside the sync, on a connection of its own: ANALYZE takes no lock that writes
 * wait for, and awaited it would stall the stream (the next page's transaction waits for the one
 * before it to be done). A refresh that fails is logged, not fatal: statistics only steer the
 * planner. The run waits for refreshes before it ends (see settled).
 */
export class PlannerStatistics {
  /** Per entity: rows this run has added. */
  private readonly growth = new Map<Entity, number>();
  /** Refreshes still running. */
  private readonly refreshing = new Set<Promise<void>>();

  constructor(private readonly run: RunContext) {}

  /** A batch that added `rows` new rows of `entity` has committed. */
  grew(entity: Entity, rows: number): void {
    const written = (this.growth.get(entity) ?? 0) + rows;
    this.growth.set(entity, written);
    if (written < 4000 || written - rows >= 4000) return;
    const tables: Array<Parameters<Store['analyze']>[0][number]> = [entity];
    if (entity === 'sections') tables.push('section_members');
    if (entity === 'contacts') tables.push('contact_students');
    if (
      entity === 'students' ||
      entity === 'staff' ||
      (entity === 'contacts' && this.run.config.provisionGuardians)
    ) {
      tables.push('accounts');
    }
    const refresh = this.run.store.analyze(tables).catch((err: unknown) => {
      this.run.logger.warn(
        { district: this.run.district, run: this.run.runId, tables, err: errorMessage(err) },
        'refreshing planner statistics failed',
      );
    });
    this.refreshing.add(refresh);
    void refresh.finally(() => this.refreshing.delete(refresh));
  }

  /** Settles once no refresh is running. */
  async settled(): Promise<void> {
    while (this.refreshing.size > 0) await Promise.all([...this.refreshing]);
  }
}
