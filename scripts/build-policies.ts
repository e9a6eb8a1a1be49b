/**
 * Builds every policy directory policies/<name>/ into bundles/<name>.tar.gz
 * (OPA WebAssembly bundles evaluated by @open-policy-agent/opa-wasm).
 *
 *   npx tsx scripts/build-policies.ts           run each policy's opa tests, then build and
 *                                               replace bundles/*.tar.gz; a failing test
 *                                               refuses the build (--force builds anyway)
 *   npx tsx scripts/build-policies.ts --check   rebuild in a temp dir and fail when a
 *                                               committed bundle differs from its source
 *   npm run policies:build -- --signing-key key.pem [--signing-alg ES256]
 *                                               also sign them (OPA .signatures.json)
 *
 * The opa binary is $OPA, else `opa` on PATH, else ~/go/bin/opa; its version
 * should match the pin in .opa-version (a different compiler may emit different
 * wasm, which --check would report as drift).
 *
 * Revision of a bundle: `<name>-<first 12 hex of sha256>` where the hash runs
 * over the bundle's non-test .rego files and data.json files (samples/ excluded),
 * sorted by their POSIX path relative to policies/<name>/, each contributing
 * `path + "\0" + content + "\0"`. Same sources, same revision, on any machine.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { readArchiveFile, type ArchiveFiles } from '../src/bundles/archive.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POLICIES_DIR = 'policies';
const BUNDLES_DIR = 'bundles';
const VERSION_PIN_FILE = '.opa-version';
/** Files and folders that belong to the sources but never to the bundle. */
const IGNORED = ['*_test.rego', 'samples'];
/** The files --check compares; everything else in the tarball (stripped .rego copies) follows from these. */
const COMPARED_FILES = ['policy.wasm', 'data.json', '.manifest'] as const;

class BuildError extends Error {}

interface PolicySource {
  name: string;
  /** Relative to the repo root, so paths recorded in the bundle do not depend on the checkout location. */
  dir: string;
  revision: string;
}

interface WasmEntry {
  entrypoint: string;
  module: string;
}

interface ManifestView {
  revision: string;
  roots: string[];
  wasm: WasmEntry[];
}

// ---------------------------------------------------------------------------
// Locating opa.

function locateOpa(): string {
  const candidates = [process.env.OPA, 'opa', join(homedir(), 'go', 'bin', 'opa')].filter((c): c is string => typeof c === 'string' && c !== '');
  for (const candidate of candidates) {
    if (opaVersion(candidate) !== undefined) return candidate;
    // An explicit $OPA that does not run is a configuration mistake, not a reason to fall back silently.
    if (candidate === process.env.OPA) throw new BuildError(`OPA=${candidate} is not a runnable opa binary`);
  }
  throw new BuildError(
    'opa binary not found: set OPA=/path/to/opa, put opa on PATH, or install it to ~/go/bin/opa ' + `(version pinned in ${VERSION_PIN_FILE})`,
  );
}

/** The version `opa version` reports, or undefined when the binary cannot run. */
function opaVersion(opa: string): string | undefined {
  try {
    const out = execFileSync(opa, ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return /^Version:\s*(\S+)/m.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

function warnOnVersionDrift(opa: string): void {
  const pinPath = join(REPO_ROOT, VERSION_PIN_FILE);
  if (!existsSync(pinPath)) {
    console.warn(`warning: ${VERSION_PIN_FILE} is missing; cannot verify the opa version`);
    return;
  }
  const pinned = stripV(readFileSync(pinPath, 'utf8').trim());
  const actual = stripV(opaVersion(opa) ?? 'unknown');
  if (pinned !== actual) {
    console.warn(`warning: ${opa} is opa ${actual} but ${VERSION_PIN_FILE} pins ${pinned}; the wasm may differ from CI`);
  }
}

function stripV(version: string): string {
  return version.replace(/^v/, '');
}

// ---------------------------------------------------------------------------
// Capabilities: only builtins the JS SDK can evaluate.

/**
 * Writes a capabilities file restricted to the builtins @open-policy-agent/opa-wasm
 * implements, so a policy using e.g. regex.replace fails at build time instead of
 * throwing "not implemented" at evaluation time. Rego features come from the
 * running opa (the SDK's own file predates Rego v1).
 */
function writeSdkCapabilities(opa: string, dir: string): string | undefined {
  const sdkPath = sdkCapabilitiesPath();
  if (!sdkPath) {
    console.warn('warning: @open-policy-agent/opa-wasm capabilities.json not found; builtins are not checked');
    return undefined;
  }
  const sdk = parseJson(readFileSync(sdkPath, 'utf8'), sdkPath);
  const current = parseJson(execFileSync(opa, ['capabilities', '--current'], { encoding: 'utf8' }), 'opa capabilities');
  const sdkBuiltins = isRecord(sdk) ? asArray(sdk.builtins) : undefined;
  const currentBuiltins = isRecord(current) ? asArray(current.builtins) : undefined;
  if (!isRecord(sdk) || !isRecord(current) || !sdkBuiltins || !currentBuiltins) {
    throw new BuildError('unexpected capabilities format');
  }
  const supported = new Set(sdkBuiltins.map(builtinName));
  const capabilities = {
    ...current,
    builtins: currentBuiltins.filter((b) => supported.has(builtinName(b))),
    wasm_abi_versions: sdk.wasm_abi_versions,
  };
  const path = join(dir, 'capabilities.json');
  writeFileSync(path, JSON.stringify(capabilities));
  return path;
}

function sdkCapabilitiesPath(): string | undefined {
  try {
    // The package exports only its entry point, so find the file next to it.
    const entry = createRequire(import.meta.url).resolve('@open-policy-agent/opa-wasm');
    let dir = dirname(entry);
    while (dir !== dirname(dir)) {
      const candidate = join(dir, 'capabilities.json');
      if (existsSync(candidate)) return candidate;
      if (existsSync(join(dir, 'package.json'))) return undefined;
      dir = dirname(dir);
    }
  } catch {
    // Not installed: handled by the caller.
  }
  return undefined;
}

function builtinName(value: unknown): string {
  return isRecord(value) && typeof value.name === 'string' ? value.name : '';
}

// ---------------------------------------------------------------------------
// Sources.

function discoverSources(): PolicySource[] {
  const root = join(REPO_ROOT, POLICIES_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => statSync(join(root, name)).isDirectory())
    .sort()
    .map((name) => ({ name, dir: `${POLICIES_DIR}/${name}`, files: bundleSourceFiles(join(root, name)) }))
    .filter((s) => s.files.some((f) => f.endsWith('.rego')))
    .map((s) => ({ name: s.name, dir: s.dir, revision: revisionOf(s.name, join(root, s.name), s.files) }));
}

/** Relative POSIX paths of the files that make up a bundle: non-test .rego and data.json. */
function bundleSourceFiles(dir: string, prefix = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'samples') files.push(...bundleSourceFiles(join(dir, entry.name), rel));
    } else if ((entry.name.endsWith('.rego') && !entry.name.endsWith('_test.rego')) || entry.name === 'data.json') {
      files.push(rel);
    }
  }
  // Plain code-unit order, independent of locale.
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function revisionOf(name: string, dir: string, files: string[]): string {
  const hash = createHash('sha256');
  for (const rel of files) {
    hash.update(rel);
    hash.update('\0');
    hash.update(readFileSync(join(dir, ...rel.split('/'))));
    hash.update('\0');
  }
  return `${name}-${hash.digest('hex').slice(0, 12)}`;
}

// ---------------------------------------------------------------------------
// Testing, building and validating one bundle.

/**
 * `opa test` over a policy's sources and tests (samples/ ignored, as `npm run
 * policies:test`). A failure refuses the build, so a bundle whose own tests
 * fail is never written to bundles/; with --force it is a warning.
 */
function testPolicy(opa: string, source: PolicySource, force: boolean): void {
  try {
    execFileSync(opa, ['test', source.dir, '--ignore', 'samples'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const output = commandOutput(err);
    if (!force) throw new BuildError(`opa test ${source.dir} failed, so nothing was built (--force builds anyway):\n${output}`);
    console.warn(`warning: opa test ${source.dir} failed; building anyway (--force):\n${output}`);
  }
}

/** What a failed command printed: opa reports test and compile failures on stdout, other failures on stderr. */
function commandOutput(err: unknown): string {
  const output = isRecord(err)
    ? [err.stdout, err.stderr]
        .filter((o) => typeof o === 'string')
        .join('\n')
        .trim()
    : '';
  return output || errorMessage(err);
}

function buildBundle(opa: string, source: PolicySource, out: string, capabilities: string | undefined): void {
  const args = ['build', '-t', 'wasm', '-b', source.dir, '--revision', source.revision, '-o', out];
  for (const pattern of IGNORED) args.push('--ignore', pattern);
  if (capabilities) args.push('--capabilities', capabilities);
  if (signing) args.push('--signing-key', signing.key, '--signing-alg', signing.alg);
  try {
    // cwd = repo root and a relative source path: the paths opa records in the bundle stay the same everywhere.
    execFileSync(opa, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new BuildError(`opa build of ${source.dir} failed:\n${commandOutput(err)}`);
  }
}

/** Checks a freshly built bundle against what the service expects; returns its manifest. */
async function validateBundle(source: PolicySource, files: ArchiveFiles): Promise<ManifestView> {
  const where = `bundle ${source.name}`;
  for (const name of COMPARED_FILES) {
    if (!files.has(name)) throw new BuildError(`${where}: ${name} is missing from the archive`);
  }
  const leaked = [...files.keys()].filter((p) => p.endsWith('_test.rego') || p.split('/').includes('samples'));
  if (leaked.length > 0) throw new BuildError(`${where}: test or sample files were bundled: ${leaked.join(', ')}`);

  const manifest = manifestView(files, where);
  if (manifest.revision !== source.revision) throw new BuildError(`${where}: manifest revision is ${manifest.revision}`);
  if (manifest.wasm.length === 0) {
    throw new BuildError(`${where}: no wasm entrypoints; annotate the rule with "# METADATA" / "# entrypoint: true"`);
  }
  if (manifest.roots.length === 0 || manifest.roots.includes('')) {
    console.warn(`warning: ${where} claims the whole data tree (roots [""]); add ${source.dir}/.manifest with its roots`);
  }
  await smokeEvaluate(source, files, manifest);
  return manifest;
}

/** Loads the wasm with the SDK and evaluates every entrypoint on an empty input: the bundle must answer. */
async function smokeEvaluate(source: PolicySource, files: ArchiveFiles, manifest: ManifestView): Promise<void> {
  const policy = await loadPolicy(new Uint8Array(requireFile(files, 'policy.wasm')));
  policy.setData(toObject(parseJson(requireFile(files, 'data.json').toString('utf8'), `${source.name} data.json`)));
  for (const { entrypoint } of manifest.wasm) {
    let result: unknown;
    try {
      result = policy.evaluate({}, entrypoint);
    } catch (err) {
      throw new BuildError(`bundle ${source.name}: ${entrypoint} fails under opa-wasm: ${errorMessage(err)}`);
    }
    if (!Array.isArray(result) || result.length === 0) {
      throw new BuildError(`bundle ${source.name}: ${entrypoint} is undefined for an empty input; it must always decide`);
    }
  }
}

function manifestView(files: ArchiveFiles, where: string): ManifestView {
  const raw = parseJson(requireFile(files, '.manifest').toString('utf8'), `${where} .manifest`);
  if (!isRecord(raw)) throw new BuildError(`${where}: .manifest is not an object`);
  const roots = (asArray(raw.roots) ?? ['']).filter((r): r is string => typeof r === 'string');
  const wasm = (asArray(raw.wasm) ?? []).filter(isRecord).map((w) => ({ entrypoint: String(w.entrypoint), module: String(w.module) }));
  return { revision: typeof raw.revision === 'string' ? raw.revision : '', roots, wasm };
}

// ---------------------------------------------------------------------------
// Comparing built and committed bundles.

/** Names the files whose contents differ (JSON compared parsed, wasm byte for byte). */
function differingFiles(built: ArchiveFiles, committed: ArchiveFiles): string[] {
  return COMPARED_FILES.filter((name) => {
    const a = built.get(name);
    const b = committed.get(name);
    if (a === undefined || b === undefined) return a !== b;
    if (name === 'policy.wasm') return !a.equals(b);
    return !isDeepStrictEqual(tryParseJson(a), tryParseJson(b));
  });
}

/** bundles/*.tar.gz without a policies/<name>/ to build them from. */
function orphanBundles(sources: PolicySource[]): string[] {
  const dir = join(REPO_ROOT, BUNDLES_DIR);
  if (!existsSync(dir)) return [];
  const names = new Set(sources.map((s) => s.name));
  return readdirSync(dir)
    .filter((f) => f.endsWith('.tar.gz') && !names.has(f.slice(0, -'.tar.gz'.length)))
    .sort();
}

// ---------------------------------------------------------------------------
// Commands.

async function build(opa: string, sources: PolicySource[], work: string, capabilities: string | undefined, force: boolean): Promise<void> {
  // Every policy's tests first: one failing refuses the whole build, before any bundle is replaced.
  for (const source of sources) testPolicy(opa, source, force);
  const outDir = join(REPO_ROOT, BUNDLES_DIR);
  mkdirSync(outDir, { recursive: true });
  for (const source of sources) {
    const staged = join(work, `${source.name}.tar.gz`);
    buildBundle(opa, source, staged, capabilities);
    const manifest = await validateBundle(source, readArchiveFile(staged));
    // Stage next to the target and rename, so a failed build never leaves a half-written bundle.
    const target = join(outDir, `${source.name}.tar.gz`);
    const partial = `${target}.partial`;
    writeFileSync(partial, readFileSync(staged));
    renameSync(partial, target);
    const entrypoints = manifest.wasm.map((w) => w.entrypoint).join(', ');
    console.log(`built ${relative(REPO_ROOT, target).split(sep).join('/')} (revision ${source.revision}; entrypoints ${entrypoints})`);
  }
  for (const orphan of orphanBundles(sources)) {
    console.warn(`warning: ${BUNDLES_DIR}/${orphan} has no source directory in ${POLICIES_DIR}/ (left in place)`);
  }
}

async function check(opa: string, sources: PolicySource[], work: string, capabilities: string | undefined): Promise<boolean> {
  const problems: string[] = [];
  for (const source of sources) {
    const built = join(work, `${source.name}.tar.gz`);
    buildBundle(opa, source, built, capabilities);
    const builtFiles = readArchiveFile(built);
    await validateBundle(source, builtFiles);
    const committedPath = join(REPO_ROOT, BUNDLES_DIR, `${source.name}.tar.gz`);
    if (!existsSync(committedPath)) {
      problems.push(`${BUNDLES_DIR}/${source.name}.tar.gz is missing (source ${source.dir})`);
      continue;
    }
    for (const file of differingFiles(builtFiles, readArchiveFile(committedPath))) {
      problems.push(`${BUNDLES_DIR}/${source.name}.tar.gz: ${file} differs from a fresh build of ${source.dir}`);
    }
  }
  for (const orphan of orphanBundles(sources)) {
    problems.push(`${BUNDLES_DIR}/${orphan} has no source directory ${POLICIES_DIR}/${orphan.slice(0, -'.tar.gz'.length)}/`);
  }
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error('bundles are stale: run `npx tsx scripts/build-policies.ts` and commit bundles/');
    return false;
  }
  console.log('bundles up to date');
  return true;
}

// ---------------------------------------------------------------------------
// Small helpers.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? (value as unknown[]) : undefined;
}

function toObject(value: unknown): object {
  if (!isRecord(value)) throw new BuildError('data.json must hold an object');
  return value;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BuildError(`${what} is not valid JSON: ${errorMessage(err)}`);
  }
}

/** Unparseable JSON compares as its raw text, so it still counts as a difference. */
function tryParseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return bytes.toString('utf8');
  }
}

function requireFile(files: ArchiveFiles, name: string): Buffer {
  const file = files.get(name);
  if (file === undefined) throw new BuildError(`${name} is missing from the archive`);
  return file;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface Args {
  check: boolean;
  /** Build although `opa test` fails. */
  force: boolean;
  /** opa build --signing-key/--signing-alg: the bundles carry an OPA .signatures.json. */
  signing?: { key: string; alg: string };
}

const USAGE = 'usage: build-policies.ts [--check] [--force] [--signing-key FILE [--signing-alg RS256|PS256|ES256|HS256|…]]';

function parseArgs(argv: string[]): Args {
  const args: Args = { check: false, force: false };
  let key: string | undefined;
  let alg = 'RS256';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--check') args.check = true;
    else if (a === '--force') args.force = true;
    else if (a === '--signing-key' && argv[i + 1]) key = argv[++i];
    else if (a === '--signing-alg' && argv[i + 1]) alg = argv[++i]!;
    else throw new BuildError(`unknown or incomplete argument: ${a}\n${USAGE}`);
  }
  if (key) args.signing = { key, alg };
  return args;
}

let signing: Args['signing'];

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  signing = args.signing;
  const opa = locateOpa();
  warnOnVersionDrift(opa);
  const sources = discoverSources();
  if (sources.length === 0) throw new BuildError(`no policy directories with .rego files under ${POLICIES_DIR}/`);
  const work = mkdtempSync(join(tmpdir(), 'gavel-policies-'));
  try {
    const capabilities = writeSdkCapabilities(opa, work);
    if (args.check) return (await check(opa, sources, work, capabilities)) ? 0 : 1;
    await build(opa, sources, work, capabilities, args.force);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof BuildError ? `error: ${err.message}` : err);
    process.exitCode = 1;
  },
);
