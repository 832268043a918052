// The package as an application uses it: only `rostersync` and `rostersync/simulator`, never a path
// under src/. Also keeps the README's list of exports, the code and package.json `exports` in step.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as rostersync from 'rostersync';
import {
  changedNothing,
  getStatus,
  isRostersyncError,
  loadConfig,
  silentLogger,
  Store,
  syncFromClever,
} from 'rostersync';
import type { Config } from 'rostersync';
import * as simulator from 'rostersync/simulator';
import { startCleverSimulator } from 'rostersync/simulator';
import type { CleverSimulator } from 'rostersync/simulator';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('a sync through the public API', () => {
  let sim: CleverSimulator;
  let dir: string;
  let store: Store;
  let config: Config;

  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 11, students: 240 });
    dir = mkdtempSync(join(tmpdir(), 'rostersync-public-'));
    config = loadConfig({
      env: {},
      file: '/dev/null',
      overrides: { database: join(dir, 'public.db'), 'clever.url': sim.url, 'clever.token': sim.token },
    });
    store = await Store.open({ location: config.database });
  });
  afterAll(async () => {
    await store?.close();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs the simulated district into a SQLite file and reports what it stored', async () => {
    const truth = sim.truth();
    const report = await syncFromClever({ store, config, logger: silentLogger() });
    expect(report.status).toBe('succeeded');
    expect(report.mode).toBe('sync');
    expect(report.counts.schools.created).toBe(truth.schools);
    expect(report.counts.students.created).toBe(truth.students);
    expect(report.counts.staff.created).toBe(truth.staffPeople);
    expect(report.counts.sections.created).toBe(truth.sections);
    expect(report.accounts.provisioned).toBe(truth.students + truth.staffPeople);

    const status = await getStatus(store);
    expect(status.districts).toHaveLength(1);
    const district = status.districts[0]!;
    expect(district.id).toBe(report.district);
    expect(district.totals).toMatchObject({
      schools: truth.schools,
      students: truth.students,
      staff: truth.staffPeople,
      sections: truth.sections,
      contacts: truth.contacts,
    });
    expect(district.accounts.student.active).toBe(truth.students);
    expect(district.runs.map((r) => [r.id, r.status])).toEqual([[report.runId, 'succeeded']]);
    const feed = await store.changeFeed.after(0, { limit: 10_000 });
    expect(feed).toHaveLength(truth.students + truth.staffPeople);
  });

  it('a second sync changes nothing', async () => {
    const seq = await store.changeFeed.lastSeq();
    const again = await syncFromClever({ store, config, logger: silentLogger() });
    expect(again.status).toBe('succeeded');
    expect(changedNothing(again)).toBe(true);
    expect(again.counts.students.unchanged).toBe(sim.truth().students);
    expect(await store.changeFeed.lastSeq()).toBe(seq);
  });

  it('a bad configuration is a typed error naming the key', () => {
    let caught: unknown;
    try {
      loadConfig({ env: {}, file: '/dev/null', overrides: { 'clever.pageSize': 0 } });
    } catch (err) {
      caught = err;
    }
    expect(isRostersyncError(caught, 'config')).toBe(true);
    expect((caught as Error).message).toMatch(/clever\.pageSize/);
  });
});

/**
 * The names a module exports, read from its source: values and types apart. The entry files are
 * lists of named re-exports; `export *` would hide what is public, so it fails here.
 */
function exportsOf(path: string): { values: string[]; types: string[] } {
  const file = ts.createSourceFile(path, read(path), ts.ScriptTarget.Latest);
  const values: string[] = [];
  const types: string[] = [];
  for (const node of file.statements) {
    if (!ts.isExportDeclaration(node)) {
      const exported =
        ts.canHaveModifiers(node) &&
        ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (exported) throw new Error(`${path}: an entry file only re-exports (export { … } from …)`);
      continue;
    }
    const clause = node.exportClause;
    if (!clause || !ts.isNamedExports(clause)) throw new Error(`${path}: use named exports, not export *`);
    for (const el of clause.elements) (node.isTypeOnly || el.isTypeOnly ? types : values).push(el.name.text);
  }
  return { values: values.sort(), types: types.sort() };
}

/**
 * The README's list for one entry: the bullets after the line `` `<entry>`: `` (up to the next blank
 * line after them), each "values. Types: types".
 */
function documented(entry: string): { values: string[]; types: string[] } {
  const section = read('README.md').split('\n## Use it as a library\n')[1]?.split('\n## ')[0] ?? '';
  const start = section.split('\n').findIndex((l) => l.startsWith(`\`${entry}\``) && l.endsWith(':'));
  expect(start, `README: no export list for ${entry}`).toBeGreaterThanOrEqual(0);
  const bullets = section
    .split('\n')
    .slice(start + 2)
    .join('\n')
    .split('\n\n')[0]!;
  const names = (text: string) => [...text.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]!);
  const values: string[] = [];
  const types: string[] = [];
  for (const bullet of bullets.split(/\n- /)) {
    const [before, after = ''] = bullet.split(/\sTypes:\s/);
    values.push(...names(before!.replace(/\([^)]*\)/g, '')));
    types.push(...names(after));
  }
  return { values: values.sort(), types: types.sort() };
}

describe('the public surface', () => {
  it.each([
    ['rostersync', 'src/index.ts', rostersync],
    ['rostersync/simulator', 'src/simulator/index.ts', simulator],
  ] as const)('%s exports exactly what the README lists', (entry, path, mod) => {
    const code = exportsOf(path);
    expect(Object.keys(mod).sort()).toEqual(code.values);
    const readme = documented(entry);
    expect(readme.values).toEqual(code.values);
    expect(readme.types).toEqual(code.types);
  });

  it('package.json maps each entry to the build of the file the tests import', () => {
    const pkg = JSON.parse(read('package.json')) as {
      main: string;
      types: string;
      exports: Record<string, string | { types: string; default: string }>;
    };
    expect(Object.keys(pkg.exports)).toEqual(['.', './simulator', './package.json']);
    for (const [sub, source] of [
      ['.', 'src/index.ts'],
      ['./simulator', 'src/simulator/index.ts'],
    ] as const) {
      const target = pkg.exports[sub] as { types: string; default: string };
      const built = source.replace(/^src\//, './dist/').replace(/\.ts$/, '');
      expect(target).toEqual({ types: `${built}.d.ts`, default: `${built}.js` });
      expect(existsSync(new URL(source, root))).toBe(true);
    }
    expect([pkg.main, pkg.types]).toEqual(['./dist/index.js', './dist/index.d.ts']);
  });
});

describe('the command line as a module', () => {
  it('does nothing at import; main(argv) resolves with the exit code and leaves process.exitCode alone', async () => {
    const listeners = process.stdout.listenerCount('error');
    const { buildProgram, main } = await import('../src/cli/main.js');
    expect(process.stdout.listenerCount('error')).toBe(listeners);
    expect(buildProgram().commands.map((c) => c.name())).toEqual(expect.arrayContaining(['demo', 'sync']));

    const out: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['--version'])).toBe(0);
      expect(out.join('')).toBe('0.1.0\n');
      expect(await main(['no-such-command'])).toBe(1);
      expect(await main(['sync', '--page-size'])).toBe(1);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect(process.exitCode).toBeUndefined();
  });
});
