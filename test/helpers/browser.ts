import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { ROOT } from './paths.js';

/** Debian's Chromium (`.ci/run` installs it when missing); CHROMIUM names another. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Headless Chromium; it accepts the test CA's server certificate (the console serves HTTPS under mutual TLS). */
export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (as .ci/run does), or set CHROMIUM`);
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    acceptInsecureCerts: true,
    defaultViewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
  });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/**
 * axe-core run in the page: the serious and critical violations. The console's CSP allows no inline
 * script, so axe is added with the page's CSP bypassed for that one evaluation, then restored.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const url = page.url();
  await page.setBypassCSP(true);
  try {
    await page.goto(url, { waitUntil: 'load' });
    await page.evaluate(axeSource);
    const result = (await page.evaluate(() => (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe.run())) as {
      violations: AxeViolation[];
    };
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  } finally {
    await page.setBypassCSP(false);
    await page.goto(url, { waitUntil: 'load' });
  }
}

/** Writes a full-page screenshot to test/artifacts/<name>.png (not committed) for a reviewer to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = join(ROOT, 'test', 'artifacts');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`) as `${string}.png`, fullPage: true });
}
