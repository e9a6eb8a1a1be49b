import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from './settings.js';

/** The reference bundles the package ships: bundles/ at its root (two levels up from src/cli/ and dist/cli/ alike). */
export const SHIPPED_BUNDLES = fileURLToPath(new URL('../../bundles', import.meta.url));

/**
 * The bundle folder to serve. What an operator named (`--bundles`, GAVEL_BUNDLES, the config file)
 * is served as named, and a folder that does not exist fails the start. Only when nothing named
 * one and the default `./bundles` does not exist — `npx @gavel-pdp/gavel serve` in an empty
 * folder — are the shipped reference bundles served, and the caller says so in a warning.
 */
export function bundlesFolder(named: string, source: string | undefined, cwdHas = existsSync): { folder: string; shipped: boolean } {
  const defaulted = source === 'default' && process.env.GAVEL_BUNDLES === undefined && named === DEFAULTS.bundles;
  if (defaulted && !cwdHas(named)) return { folder: SHIPPED_BUNDLES, shipped: true };
  return { folder: named, shipped: false };
}
