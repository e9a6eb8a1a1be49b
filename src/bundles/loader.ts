import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { GavelError } from '../lib/errors.js';
import { bundleNameFromPath, parseBundle, readBundle, type Bundle } from './bundle.js';
import type { BundleVerification } from './verification-keys.js';

/**
 * Loads every `*.tar.gz` bundle of a folder (or one bundle file). All or
 * nothing: one bad bundle fails the whole load, so a half-updated folder is
 * never activated.
 */
export function loadBundles(path: string): Bundle[] {
  const bundles = bundleFiles(path).map((file) => parseBundle(bundleNameFromPath(file), readFileSync(file)));
  checkBundleSet(bundles);
  return bundles;
}

/** As loadBundles, and with a verification configured every bundle must be signed by one of its keys. */
export async function loadVerifiedBundles(
  path: string,
  verification: BundleVerification | undefined,
  options: { allowEmpty?: boolean } = {},
): Promise<Bundle[]> {
  const bundles: Bundle[] = [];
  for (const file of bundleFiles(path, options.allowEmpty)) bundles.push(await readBundle(bundleNameFromPath(file), readFileSync(file), verification));
  checkBundleSet(bundles);
  return bundles;
}

/** The bundle files of a folder (sorted), or the one file; an empty folder is refused unless allowed. */
export function bundleFiles(path: string, allowEmpty = false): string[] {
  const files = listBundleFiles(path);
  if (files.length === 0 && !allowEmpty) throw new GavelError('bundle_invalid', `no bundles (*.tar.gz) found in ${path}`);
  return files;
}

function listBundleFiles(path: string): string[] {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch {
    throw new GavelError('bundle_invalid', `bundles path ${path} does not exist`);
  }
  if (stat.isFile()) return [path];
  return readdirSync(path)
    .filter((name) => name.endsWith('.tar.gz') || name.endsWith('.tgz'))
    .sort()
    .map((name) => join(path, name));
}

/** One bundle per name and one bundle per entrypoint, across every source (folder and URLs). */
export function checkBundleSet(bundles: Bundle[]): void {
  const names = new Set<string>();
  for (const b of bundles) {
    if (names.has(b.name))
      throw new GavelError('bundle_invalid', `two bundles are named ${b.name}; bundle names must be unique across the folder and bundle URLs`);
    names.add(b.name);
  }
  const owner = new Map<string, string>();
  for (const bundle of bundles) {
    for (const entrypoint of bundle.entrypoints) {
      const other = owner.get(entrypoint);
      if (other) throw new GavelError('bundle_invalid', `entrypoint ${entrypoint} is declared by both ${other} and ${bundle.name}`);
      owner.set(entrypoint, bundle.name);
    }
  }
}
