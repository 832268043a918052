import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { deliverUntilIdle } from '../accounts/webhooks.js';
import { loadConfig } from '../config.js';
import type { Config } from '../config.js';
import { errorMessage, isRostersyncError, RostersyncError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import type { Logger } from '../shared/logger.js';
import { applyScheduleConfig } from '../jobs/district-schedules.js';
import { isPostgresUrl } from '../store/db.js';
import { SecretBox } from '../store/secrets.js';
import { Store } from '../store/store.js';

export interface CliContext {
  config: Config;
  logger: Logger;
  store: Store;
}

export interface GlobalFlags {
  database?: string;
  config?: string;
  logLevel?: string;
}

/** Loads configuration (flags override env override file override defaults). */
export function configFromFlags(flags: GlobalFlags, extra: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: process.env,
    ...(flags.config !== undefined ? { file: flags.config } : {}),
    overrides: { database: flags.database, logLevel: flags.logLevel, ...extra },
  });
}

/** Opens the configured store for one command and closes it afterwards, whatever happens. */
export async function withStore<T>(config: Config, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const logger = createLogger(config.logLevel);
  const store = await Store.open({ location: config.database });
  try {
    await applyDistrictConfig(store, config);
    return await fn({ config, logger, store });
  } finally {
    await store.close();
  }
}

/**
 * After a run: delivers the new account changes to the configured webhooks (for up to 30 s; what is
 * left waits for the next run or `webhooks deliver --watch`). A no-op without webhooks.
 */
export async function deliverAfterRun(ctx: CliContext): Promise<void> {
  if ((await ctx.store.webhooks.list()).length === 0) return;
  const r = await deliverUntilIdle({
    store: ctx.store,
    box: resolveSecretBox(ctx.config),
    logger: ctx.logger,
    deadlineMs: 30_000,
  });
  ctx.logger.info(
    { delivered: r.delivered, failed: r.failed, caughtUp: r.idle },
    'webhooks delivered after the run',
  );
}

/**
 * Districts configured in rostersync.yaml (`districts.<id>`) are declarative: their settings replace
 * what the store holds, on every start. Districts not named there keep their stored settings.
 */
export async function applyDistrictConfig(store: Store, config: Config): Promise<void> {
  for (const [id, { schedule, csvFolder, ...settings }] of Object.entries(config.districts)) {
    const row = await store.districts.ensure(id, id);
    if (JSON.stringify(row.config) !== JSON.stringify(settings))
      await store.districts.setConfig(id, settings);
    if (schedule) await applyScheduleConfig(store, id, schedule);
    // Relative to the working directory, stored absolute: `serve` may start elsewhere.
    if (csvFolder !== undefined && (await store.service.get(id))?.csvFolder !== resolve(csvFolder))
      await store.service.setCsvFolder(id, resolve(csvFolder));
  }
}

/**
 * Runs a command action: known errors print one clear line (`error: …`) and exit 1; anything else
 * is a bug and prints its stack.
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (err) {
      if (isRostersyncError(err)) {
        process.stderr.write(`error: ${errorMessage(err)}\n`);
      } else {
        process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      }
      process.exitCode = 1;
    }
  };
}

/** Resolves at the first SIGINT or SIGTERM (a long-running command's cue to stop), and stops listening. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * The key that encrypts stored secrets (webhook secrets, district tokens). `secretKey` from the
 * configuration; on the embedded default (SQLite) without one, a key file beside the database
 * (`<db>.key`, mode 0600) is created once and reused, so the demo needs no setup. PostgreSQL
 * deployments must configure `secretKey` (ROSTERSYNC_SECRET_KEY or ROSTERSYNC_SECRET_KEY_FILE).
 */
export function resolveSecretBox(config: Config): SecretBox {
  if (config.secretKey) return SecretBox.fromString(config.secretKey);
  if (isPostgresUrl(config.database) || config.database === ':memory:') {
    throw new RostersyncError(
      'config',
      'secretKey: required to store secrets (set ROSTERSYNC_SECRET_KEY or ROSTERSYNC_SECRET_KEY_FILE)',
    );
  }
  const file = `${config.database}.key`;
  if (!existsSync(file)) writeFileSync(file, SecretBox.generateKey() + '\n', { mode: 0o600, flag: 'wx' });
  return SecretBox.fromString(readFileSync(file, 'utf8'));
}
