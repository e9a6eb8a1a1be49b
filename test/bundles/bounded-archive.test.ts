import { describe, expect, it } from 'vitest';
import { readArchive, readArchiveBounded } from '../../src/bundles/archive.js';
import { parseBundle, readBundle } from '../../src/bundles/bundle.js';
import { bundleDigest } from '../../src/bundles/digest.js';
import { BUNDLE_LIMIT_DEFAULTS, bundleLimits, parseByteSize } from '../../src/bundles/limits.js';
import { GavelError } from '../../src/lib/errors.js';
import { refusal } from '../helpers/refusal.js';
import { dataBomb, endlessDataJson, FIXTURE, FIXTURE_MANIFEST, fixtureWith, manyMegabyteFiles, type RawEntry, tarGz } from './hostile-archives.js';

/** Bundles bounded before they are believed: what the archive reader and the bundle parser refuse, and how far they read first. */
const MiB = 1024 * 1024;
const refused = async (bytes: Buffer, limits = bundleLimits()) => (await refusal(readBundle('hostile', bytes, undefined, limits))).message;

describe('only regular files, each path once, none outside the root', () => {
  const cases: Array<[string, RawEntry[], string[], string]> = [
    [
      'a symlinked data.json',
      [{ path: 'data.json', type: 'SymbolicLink', linkpath: '/etc/passwd' }],
      ['data.json'],
      '"data.json" is a symbolic link; a bundle holds regular files only',
    ],
    ['a hard-linked data.json', [{ path: 'data.json', type: 'Link', linkpath: 'policy.wasm' }], ['data.json'], '"data.json" is a hard link'],
    ['a character device', [{ path: 'dev/zero', type: 'CharacterDevice' }], [], '"dev/zero" is a character device'],
    ['a block device', [{ path: 'sda', type: 'BlockDevice' }], [], '"sda" is a block device'],
    ['a FIFO', [{ path: 'pipe', type: 'FIFO' }], [], '"pipe" is a FIFO'],
    [
      'a second data.json as /./data.json',
      [{ path: '/./data.json', body: '{"granted":"everything"}' }],
      [],
      '"data.json" is in the archive twice (as "data.json" and "/./data.json")',
    ],
    [
      'a second data.json as x/../data.json',
      [{ path: 'x/../data.json', body: '{"granted":"everything"}' }],
      [],
      '"data.json" is in the archive twice (as "data.json" and "x/../data.json")',
    ],
    ['a second .manifest as ./.manifest', [{ path: './.manifest', body: '{}' }], [], '".manifest" is in the archive twice'],
    ['a file above the root', [{ path: '../data.json', body: '{}' }], [], '"../data.json" leads out of the bundle root'],
    ['a file above the root, indirectly', [{ path: 'x/../../etc/cron.d/job', body: '' }], [], '"x/../../etc/cron.d/job" leads out of the bundle root'],
  ];

  it.each(cases)('%s is refused, naming the entry', async (_what, extra, drop, message) => {
    const bytes = tarGz(fixtureWith('hostile', extra, drop));
    const text = await refused(bytes);
    expect(text).toContain('bundle hostile: ');
    expect(text).toContain(message);
    // The in-thread reader (tests, benchmarks, the policy build) refuses the same archive alike.
    expect(() => parseBundle('hostile', bytes)).toThrow(message);
  });

  it('paths are normalised as tar -x resolves them: ./data.json, /policy.wasm and a manifest naming /policy.wasm load', async () => {
    const entries = fixtureWith('spelled').map((e) => ({
      ...e,
      path: e.path === 'data.json' ? './data.json' : e.path === 'policy.wasm' ? '/policy.wasm' : e.path,
    }));
    const b = await readBundle('spelled', tarGz([{ path: './', type: 'Directory' }, { path: '.', type: 'Directory' }, ...entries]));
    expect(b.data).toEqual({ marker: 'spelled' });
    expect(b.wasm).toEqual(parseBundle('plain', FIXTURE).wasm);
    expect(b.revision).toBe('spelled');
  });

  it('a manifest naming its module outside the root is refused', async () => {
    const manifest = JSON.stringify({ ...FIXTURE_MANIFEST, wasm: [{ entrypoint: 'fixtures/echo', module: '../policy.wasm' }] });
    const bytes = tarGz(fixtureWith('m', [{ path: '.manifest', body: manifest }], ['.manifest']));
    expect(await refused(bytes)).toContain('.manifest names wasm module "../policy.wasm", which is not a path inside the bundle');
  });

  it('a header that promises more than the archive holds is unreadable, not a bundle', async () => {
    const bytes = tarGz(fixtureWith('short', [{ path: 'extra.bin', body: 'abc', size: 4096 }]));
    expect(await refused(bytes)).toContain('bundle hostile: unreadable archive');
  });

  it('only gzip: a plain tar is not a bundle (tar itself would also inflate zstd or brotli, uncounted)', async () => {
    expect(await refused(Buffer.from('not a bundle'))).toContain('unreadable archive: not a gzip stream');
  });
});

describe('limits, enforced while the archive inflates', () => {
  it('the 180 KB bundle whose data.json inflates to 120 MB is refused by its header, before a byte of it is inflated', async () => {
    const bomb = dataBomb();
    expect(bomb.length).toBeLessThan(300 * 1024);
    expect(await refused(bomb)).toBe('bundle hostile: "data.json" is 125829127 bytes, more than --bundle-max-data-bytes allows (32 MiB)');
  });

  it('a 30 MB .manifest is refused (default 1 MiB)', async () => {
    const manifest = JSON.stringify({ ...FIXTURE_MANIFEST, metadata: { pad: 'm'.repeat(30_000_000) } });
    const bytes = tarGz(fixtureWith('big', [{ path: '.manifest', body: manifest }], ['.manifest']));
    expect(await refused(bytes)).toContain('".manifest" is 30');
    expect(await refused(bytes)).toContain('more than --bundle-max-manifest-bytes allows (1 MiB)');
  });

  it('every limit is the operator’s: a data.json, any file, the whole archive', async () => {
    const limits = bundleLimits({ maxBytes: 4 * MiB, maxEntryBytes: 2 * MiB, maxDataBytes: MiB, maxManifestBytes: 64 * 1024 });
    const data = `{"pad":"${'d'.repeat(MiB)}"}`;
    expect(await refused(tarGz(fixtureWith('d', [{ path: 'data.json', body: data }], ['data.json'])), limits)).toContain(
      '"data.json" is 1048586 bytes, more than --bundle-max-data-bytes allows (1 MiB)',
    );
    // A data.json anywhere in the bundle counts as one.
    expect(await refused(tarGz(fixtureWith('d', [{ path: 'roots/x/data.json', body: data }])), limits)).toContain('--bundle-max-data-bytes');
    expect(await refused(tarGz(fixtureWith('e', [{ path: 'big.bin', body: Buffer.alloc(3 * MiB) }])), limits)).toContain(
      '"big.bin" is 3145728 bytes, more than --bundle-max-entry-bytes allows (2 MiB)',
    );
    const three = [0, 1, 2].map((i) => ({ path: `part${i}.bin`, body: Buffer.alloc(1.5 * MiB) }));
    expect(await refused(tarGz(fixtureWith('t', three)), limits)).toContain('the archive inflates past 4 MiB (--bundle-max-bytes)');
    // Within every limit, the same bundle loads.
    expect((await readBundle('ok', tarGz(fixtureWith('ok', three.slice(0, 1))), undefined, limits)).revision).toBe('ok');
  });

  it('inflating stops at the limit: 2 GiB of tar in 2 MB of gzip costs what 16 MiB does, in the sync reader too', async () => {
    // CPU time of this process (the threadpool's inflating included), not wall time: other work on the machine does not count.
    const cpuMs = async (f: () => unknown) => {
      const start = process.cpuUsage();
      await f();
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    };
    const huge = manyMegabyteFiles(2048);
    const limits = bundleLimits({ maxBytes: 16 * MiB, maxEntryBytes: 8 * MiB, maxDataBytes: 8 * MiB });
    let message = '';
    // Inflating the whole 2 GiB takes over a second of CPU; stopping after 16 MiB, a few tens of milliseconds.
    expect(await cpuMs(async () => (message = (await refusal(readBundle('huge', huge, undefined, limits))).message))).toBeLessThan(400);
    expect(message).toBe('bundle huge: the archive inflates past 16 MiB (--bundle-max-bytes)');
    expect(await cpuMs(() => expect(() => readArchive(huge, limits)).toThrow('the archive inflates past 16 MiB'))).toBeLessThan(400);
  });

  it('one entry whose header declares 4 GiB: refused at its header, its body never inflated', async () => {
    const endless = endlessDataJson(4);
    const t = Date.now();
    await expect(readArchiveBounded(endless, { ...BUNDLE_LIMIT_DEFAULTS, maxBytes: 64 * 1024 * MiB })).rejects.toThrow(
      '"data.json" is 4294967296 bytes, more than --bundle-max-data-bytes allows (32 MiB)',
    );
    expect(Date.now() - t).toBeLessThan(2000);
  });
});

describe('JSON parsed in a process of its own, with a capped heap', () => {
  /** {"x":[{},{},…]}: every {} is an object on the heap, about 20 times its 3 bytes. */
  const objects = (mib: number) => {
    const body = `{"x":[${'{},'.repeat(Math.floor((mib * MiB) / 3))}{}]}`;
    return tarGz(fixtureWith('objects', [{ path: 'data.json', body }], ['data.json']));
  };

  it('a data.json within the byte limits but too big as values is refused; the next bundle reads (a new parser)', async () => {
    const limits = bundleLimits({ maxParseHeapBytes: 32 * MiB });
    const err = await refusal(readBundle('objects', objects(8), undefined, limits));
    expect(err.code).toBe('bundle_invalid');
    expect(err.message).toBe('bundle objects: its JSON documents need more memory to parse than --bundle-max-parse-heap allows (32 MiB)');
    expect((await readBundle('fx', FIXTURE, undefined, limits)).revision).toBe('fixtures-1');
  });

  it('the same data.json parses with the default heap', async () => {
    const b = await readBundle('objects', objects(8));
    expect((b.data.x as unknown[]).length).toBeGreaterThan(2_000_000);
  });

  it('a data.json nested 200,000 deep is refused as bundle_invalid, not thrown as a stack overflow', async () => {
    const body = `{"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const err = await refusal(readBundle('deep', tarGz(fixtureWith('deep', [{ path: 'data.json', body }], ['data.json']))));
    expect(err.message).toContain('bundle deep: data.json cannot be put in canonical form');
  });

  it('the digest is the one digest.ts defines (the data hash taken in the parser is the same JCS hash)', async () => {
    const b = await readBundle('fx', FIXTURE);
    expect(b.digest).toBe(bundleDigest(b.wasm, b.data, b.revision));
    expect(b.digest).toBe(parseBundle('fx', FIXTURE).digest);
  });

  it('data.json that is not an object, or not JSON, is refused as before', async () => {
    const withData = (body: string) => tarGz(fixtureWith('d', [{ path: 'data.json', body }], ['data.json']));
    expect(await refused(withData('[1,2]'))).toBe('bundle hostile: data.json is not an object');
    expect(await refused(withData('{'))).toContain('bundle hostile: data.json is not JSON: ');
  });
});

describe('the limits module', () => {
  it('fills defaults and checks each value, naming the key and its flag', () => {
    expect(bundleLimits()).toEqual(BUNDLE_LIMIT_DEFAULTS);
    expect(bundleLimits({ maxDataBytes: MiB }).maxDataBytes).toBe(MiB);
    const invalid = (given: Parameters<typeof bundleLimits>[0]) => {
      try {
        bundleLimits(given);
      } catch (err) {
        expect(err).toBeInstanceOf(GavelError);
        expect((err as GavelError).code).toBe('config_invalid');
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(invalid({ maxBytes: 0 })).toBe('bundle limit maxBytes (--bundle-max-bytes) must be a positive whole number of bytes, got 0');
    expect(invalid({ maxEntryBytes: 1.5 })).toContain('bundle limit maxEntryBytes (--bundle-max-entry-bytes) must be a positive whole number');
    expect(invalid({ maxDataBytes: 100 * MiB })).toBe(
      'bundle limit maxDataBytes (--bundle-max-data-bytes) (104857600) must not exceed bundle limit maxEntryBytes (--bundle-max-entry-bytes, 67108864): raise both',
    );
    expect(invalid({ maxManifestBytes: 65 * MiB })).toContain('maxManifestBytes (--bundle-max-manifest-bytes)');
    expect(invalid({ maxEntryBytes: 200 * MiB })).toContain('must not exceed bundle limit maxBytes (--bundle-max-bytes');
    expect(invalid({ maxParseHeapBytes: MiB })).toBe('bundle limit maxParseHeapBytes (--bundle-max-parse-heap) must be at least 33554432 (32MiB), got 1048576');
  });

  it('reads sizes as operators write them', () => {
    expect(parseByteSize('1048576')).toBe(MiB);
    expect(parseByteSize('512KiB')).toBe(512 * 1024);
    expect(parseByteSize('64MiB')).toBe(64 * MiB);
    expect(parseByteSize('64m')).toBe(64 * MiB);
    expect(parseByteSize('1GiB')).toBe(1024 * MiB);
    for (const bad of ['', '0', '-1', '1.5MiB', '64MB', '64 parsecs', 'MiB']) expect(parseByteSize(bad)).toBeUndefined();
  });
});
