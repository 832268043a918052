import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Capabilities, Database, OpenDatabaseOptions } from './db.js';
import { openDatabase } from './db.js';
import { migrateToLatest } from './migrator.js';
import type { MigrationOutcome } from './migrator.js';
import { BulkWriter } from './bulk-writer.js';
import { AccountsRepo } from './queries/accounts.js';
import { CheckpointsRepo } from './queries/checkpoints.js';
import { DistrictsRepo } from './queries/districts.js';
import { LocksRepo } from './queries/locks.js';
import { RecordsRepo } from './queries/records.js';
import { RunsRepo } from './queries/runs.js';
import { ServiceRepo } from './queries/service.js';
import { WebhooksRepo } from './queries/webhooks.js';
import type { DB } from './schema.js';

export interface StoreOptions extends OpenDatabaseOptions {
  /** Clock for stored timestamps. Default: the system clock. */
  now?: () => Date;
  /** Run migrations on open. Default true. */
  migrate?: boolean;
}

/**
 * The store: the only place with SQL. A `Store` bound to a transaction (inside `transaction()`) has
 * the same repositories, all writing in that transaction.
 */
export class Store {
  readonly records: RecordsRepo;
  readonly runs: RunsRepo;
  readonly districts: DistrictsRepo;
  readonly checkpoints: CheckpointsRepo;
  readonly locks: LocksRepo;
  readonly accounts: AccountsRepo;
  readonly webhooks: WebhooksRepo;
  readonly service: ServiceRepo;
  /** Migrations applied when this store was opened. */
  migration: MigrationOutcome | null = null;

  protected constructor(
    protected readonly database: Database,
    protected readonly executor: Kysely<DB>,
    readonly clock: () => Date,
  ) {
    const now = () => clock().toISOString();
    const bulk = new BulkWriter(executor, database.caps, database.sqlite, () => database.transactionClient());
    this.records = new RecordsRepo(executor, database.caps, now, bulk);
    this.runs = new RunsRepo(executor, database.caps, now, bulk);
    this.districts = new DistrictsRepo(executor, now);
    this.checkpoints = new CheckpointsRepo(executor, now);
    this.locks = new LocksRepo(executor, now);
    this.accounts = new AccountsRepo(executor, database.caps, now, bulk);
    this.webhooks = new WebhooksRepo(executor, now);
    this.service = new ServiceRepo(executor, now);
  }

  /** Opens the database named by `location` and (by default) migrates it to the latest schema. */
  static async open(opts: StoreOptions): Promise<Store> {
    const database = openDatabase(opts);
    const store = new Store(database, database.db, opts.now ?? (() => new Date()));
    if (opts.migrate !== false) {
      try {
        store.migration = await migrateToLatest(database.db, database.caps);
      } catch (err) {
        await database.close();
        throw err;
      }
    }
    return store;
  }

  get caps(): Capabilities {
    return this.database.caps;
  }

  /** The database location, safe to print (passwords removed). */
  get location(): string {
    return this.database.location;
  }

  /** Runs the pending migrations explicitly (`rostersync migrate`). */
  async migrate(): Promise<MigrationOutcome> {
    this.migration = await migrateToLatest(this.database.db, this.database.caps);
    return this.migration;
  }

  /**
   * Refreshes planner statistics of tables that grew a lot (see Capabilities.analyzeWhileLoading).
   * A no-op where the database does not need it.
   */
  async analyze(tables: ReadonlyArray<keyof DB>): Promise<void> {
    if (!this.caps.analyzeWhileLoading || tables.length === 0) return;
    await sql.raw(`analyze ${[...new Set(tables)].map((t) => `"${t}"`).join(', ')}`).execute(this.executor);
  }

  /** Runs `fn` in one transaction; everything it writes through `tx` commits or rolls back together. */
  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.database.inTransactionContext(() =>
      this.executor.transaction().execute((trx) => fn(new Store(this.database, trx, this.clock))),
    );
  }

  async close(): Promise<void> {
    await this.database.close();
  }
}
