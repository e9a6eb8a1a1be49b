import { GavelError } from '../lib/errors.js';

/**
 * How far a bundle may expand before gavel believes it. Every bundle (the
 * bundles folder, bundle URLs, shadow bundles, replay candidates) is read
 * within these: the archive stops inflating as soon as one is passed, and its
 * JSON documents are parsed on a worker thread whose heap is capped, so a
 * bomb costs at most these bytes and never the server.
 */
export interface BundleLimits {
  /** The whole archive inflated (the tar stream). */
  maxBytes: number;
  /** Any one file of the archive. */
  maxEntryBytes: number;
  /** A `data.json` (data.yaml, data.yml). */
  maxDataBytes: number;
  /** The `.manifest`. */
  maxManifestBytes: number;
  /** The heap of the worker that parses `.manifest`, `data.json` and `.signatures.json`. */
  maxParseHeapBytes: number;
}

const MiB = 1024 * 1024;

/**
 * Fit for real policies: a wasm module of a few MiB, a data document of a few
 * MiB, a manifest of a few KiB, each with room to grow tenfold. A data.json
 * near its limit may still need more heap than the parser has when it is made
 * of tiny values (every `[]` or `0` is an object on the heap): then it is
 * refused, and the operator raises --bundle-max-parse-heap.
 */
export const BUNDLE_LIMIT_DEFAULTS: Readonly<BundleLimits> = Object.freeze({
  maxBytes: 128 * MiB,
  maxEntryBytes: 64 * MiB,
  maxDataBytes: 32 * MiB,
  maxManifestBytes: 1 * MiB,
  maxParseHeapBytes: 512 * MiB,
});

/** The flag that sets each limit (`gavel serve`, `gavel replay`), for messages. */
export const BUNDLE_LIMIT_FLAGS: Readonly<Record<keyof BundleLimits, string>> = Object.freeze({
  maxBytes: '--bundle-max-bytes',
  maxEntryBytes: '--bundle-max-entry-bytes',
  maxDataBytes: '--bundle-max-data-bytes',
  maxManifestBytes: '--bundle-max-manifest-bytes',
  maxParseHeapBytes: '--bundle-max-parse-heap',
});

/** Below this a worker cannot even start its module loader. */
const MIN_PARSE_HEAP = 32 * MiB;

/** Defaults filled in, then checked; throws config_invalid naming the key (and its flag). */
export function bundleLimits(given: Partial<Record<keyof BundleLimits, number | undefined>> = {}): BundleLimits {
  const limits = { ...BUNDLE_LIMIT_DEFAULTS };
  for (const key of Object.keys(BUNDLE_LIMIT_DEFAULTS) as Array<keyof BundleLimits>) {
    const value = given[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) throw invalid(key, `must be a positive whole number of bytes, got ${String(value)}`);
    limits[key] = value;
  }
  if (limits.maxParseHeapBytes < MIN_PARSE_HEAP)
    throw invalid('maxParseHeapBytes', `must be at least ${MIN_PARSE_HEAP} (32MiB), got ${limits.maxParseHeapBytes}`);
  for (const key of ['maxDataBytes', 'maxManifestBytes'] as const) notAbove(limits, key, 'maxEntryBytes');
  notAbove(limits, 'maxEntryBytes', 'maxBytes');
  return limits;
}

function notAbove(limits: BundleLimits, key: keyof BundleLimits, bound: keyof BundleLimits): void {
  if (limits[key] > limits[bound]) {
    throw invalid(key, `(${limits[key]}) must not exceed bundle limit ${bound} (${BUNDLE_LIMIT_FLAGS[bound]}, ${limits[bound]}): raise both`);
  }
}

function invalid(key: keyof BundleLimits, why: string): GavelError {
  return new GavelError('config_invalid', `bundle limit ${key} (${BUNDLE_LIMIT_FLAGS[key]}) ${why}`);
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: MiB, mib: MiB, g: 1024 * MiB, gib: 1024 * MiB };

/** "1048576", "512KiB", "64MiB", "1GiB" (K, M, G are binary too) as bytes; undefined when it is not one. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

let processLimits: BundleLimits = BUNDLE_LIMIT_DEFAULTS;

/**
 * The limits this process reads bundles with when a caller names none: `gavel
 * serve` and `gavel replay` set them once from their flags, before any bundle
 * is read, so every source (folder watcher, bundle URLs, shadow bundles,
 * PolicyService.Replay candidates) is bounded alike.
 */
export function useBundleLimits(limits: BundleLimits): void {
  processLimits = limits;
}

export function activeBundleLimits(): BundleLimits {
  return processLimits;
}

/** A byte count as people read it (1 MiB, 512 KiB, 3000 bytes). */
export function describeBytes(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
