// One folder's StrykerJS run in parts that each fit in a sitting (an hour or so on a 2-core machine),
// each with its own incremental file, so a stopped run loses one part at most. A config names its
// folder and parts; GAVEL_MUTATE_PART picks one (without it the whole folder is one run).
import base from './stryker.config.mjs';

/**
 * @param {string} folder e.g. 'engine' (src/engine)
 * @param {Record<string, string[]>} parts part name -> mutate globs; together they cover the folder
 * @returns {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export function partsConfig(folder, parts) {
  const part = process.env.GAVEL_MUTATE_PART;
  if (part !== undefined && !Object.hasOwn(parts, part)) throw new Error(`GAVEL_MUTATE_PART must be one of ${Object.keys(parts).join(', ')}`);
  const name = part === undefined ? folder : `${folder}-${part}`;
  return {
    ...base,
    mutate: part === undefined ? [`src/${folder}/**/*.ts`] : parts[part],
    incrementalFile: `reports/stryker-incremental-${name}.json`,
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
  };
}
