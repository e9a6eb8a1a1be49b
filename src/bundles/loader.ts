import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { GavelError } from '../lib/errors.js';
import { bundleNameFromPath, parseBundle, type Bundle } from './bundle.js';

/**
 * Loads every `*.tar.gz` bundle of a folder (or one bundle file). All or
 * nothing: one bad bundle fails the whole load, so a half-updated folder is
 * never activated.
 */
export function loadBundles(path: string): Bundle[] {
  const files = bundleFiles(path);
  if (files.length === 0) throw new GavelError('bundle_invalid', `no bundles (*.tar.gz) found in ${path}`);
  const bundles = files.map((file) => parseBundle(bundleNameFromPath(file), readFileSync(file)));
  checkEntrypointsUnique(bundles);
  return bundles;
}

function bundleFiles(path: string): string[] {
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

function checkEntrypointsUnique(bundles: Bundle[]): void {
  const owner = new Map<string, string>();
  for (const bundle of bundles) {
    for (const entrypoint of bundle.entrypoints) {
      const other = owner.get(entrypoint);
      if (other) throw new GavelError('bundle_invalid', `entrypoint ${entrypoint} is declared by both ${other} and ${bundle.name}`);
      owner.set(entrypoint, bundle.name);
    }
  }
}
