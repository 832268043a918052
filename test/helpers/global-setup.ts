import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import pg from 'pg';

/**
 * Probes the PostgreSQL server the PostgreSQL suites run against (ROSTERSYNC_TEST_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres) once, and hands the answer to every test file through
 * vitest's provide/inject. With ROSTERSYNC_REQUIRE_PG=1 (set by CI) an unreachable server is an error,
 * so the suites can never be skipped silently there.
 */
export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.ROSTERSYNC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  let available = false;
  let reason = '';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    available = true;
  } catch (err) {
    reason = err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
  if (!available && process.env.ROSTERSYNC_REQUIRE_PG === '1') {
    throw new Error(`PostgreSQL is required (ROSTERSYNC_REQUIRE_PG=1) but ${url} did not answer: ${reason}`);
  }
  project.provide('pg', { available, url, reason });
}

declare module 'vitest' {
  export interface ProvidedContext {
    pg: { available: boolean; url: string; reason: string };
  }
}
