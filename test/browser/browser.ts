/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium (`apt-get install -y chromium`); browser tests never download one. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether the browser tests run. Without Chromium they are skipped with a loud message, unless
 * ROSTERSYNC_REQUIRE_BROWSER=1 (CI sets it): then they run and fail at launch.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.ROSTERSYNC_REQUIRE_BROWSER === '1') return true;
  process.stderr.write(
    `\n!!! BROWSER TESTS SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium). ` +
      'Set ROSTERSYNC_REQUIRE_BROWSER=1 to make this a failure.\n\n',
  );
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

interface AxeResult {
  violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown }> }>;
}

/**
 * Runs axe-core (the npm package's axe.min.js, injected into the page) and fails on any serious or
 * critical violation, in the page's current colour scheme.
 */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window)))
    await page.addScriptTag({ path: 'node_modules/axe-core/axe.min.js' });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document) => Promise<unknown> } }).axe;
    return axe.run(document);
  });
  const bad = (result as AxeResult).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}× e.g. ${JSON.stringify(v.nodes[0]?.target)})`,
    );
  expect(bad, `axe on ${label}`).toEqual([]);
}
