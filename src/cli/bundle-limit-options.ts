import { InvalidArgumentError, Option } from 'commander';
import { BUNDLE_LIMIT_DEFAULTS, BUNDLE_LIMIT_FLAGS, type BundleLimits, bundleLimits, describeBytes, parseByteSize } from '../bundles/limits.js';

/** The flags as commander names them (`--bundle-max-bytes` is `bundleMaxBytes`). */
export interface BundleLimitFlags {
  bundleMaxBytes?: number;
  bundleMaxEntryBytes?: number;
  bundleMaxDataBytes?: number;
  bundleMaxManifestBytes?: number;
  bundleMaxParseHeap?: number;
}

const WHAT: Record<keyof BundleLimits, string> = {
  maxBytes: 'a bundle may inflate to at most this in all',
  maxEntryBytes: 'any one file of a bundle, inflated',
  maxDataBytes: "a bundle's data.json",
  maxManifestBytes: "a bundle's .manifest",
  maxParseHeapBytes: "heap of the process that parses a bundle's JSON; a bundle needing more is refused",
};

function byteSizeOption(value: string): number {
  const n = parseByteSize(value);
  if (n === undefined) throw new InvalidArgumentError('must be a size in bytes, e.g. 1048576, 512KiB, 64MiB or 1GiB');
  return n;
}

/** One limit's flag (a new Option each time: `gavel serve` and `gavel replay` both take them). */
export function bundleLimitOption(key: keyof BundleLimits): Option {
  return new Option(`${BUNDLE_LIMIT_FLAGS[key]} <size>`, `${WHAT[key]} (default ${describeBytes(BUNDLE_LIMIT_DEFAULTS[key]).replace(' ', '')})`).argParser(
    byteSizeOption,
  );
}

/** The limits the flags give, checked (config_invalid naming the key). */
export function bundleLimitsFrom(o: BundleLimitFlags): BundleLimits {
  return bundleLimits({
    maxBytes: o.bundleMaxBytes,
    maxEntryBytes: o.bundleMaxEntryBytes,
    maxDataBytes: o.bundleMaxDataBytes,
    maxManifestBytes: o.bundleMaxManifestBytes,
    maxParseHeapBytes: o.bundleMaxParseHeap,
  });
}
