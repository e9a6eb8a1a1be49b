import { describe, expect, it } from 'vitest';
import { defaultKeyPath, LEDGER_DEFAULTS, ledgerConfig } from '../../src/ledger/config.js';
import { GavelError } from '../../src/lib/errors.js';

/**
 * The ledger module's own config (ledger/config.ts): defaults, and every bad value refused as
 * config_invalid with a message that names the key, so an operator's YAML or flag is found at once.
 */

function refusal(overrides: Parameters<typeof ledgerConfig>[1], path = 'data/ledger.db'): GavelError {
  try {
    ledgerConfig(path, overrides);
  } catch (err) {
    expect(err).toBeInstanceOf(GavelError);
    return err as GavelError;
  }
  throw new Error('the config was accepted');
}

describe('ledgerConfig', () => {
  it('fills the defaults around the path, and leaves out overrides given as undefined', () => {
    expect(ledgerConfig('x.db')).toEqual({ ...LEDGER_DEFAULTS, path: 'x.db' });
    expect(ledgerConfig('x.db', { maxBatch: undefined, durability: 'full' })).toEqual({ ...LEDGER_DEFAULTS, durability: 'full', path: 'x.db' });
  });

  it.each([
    ['durability', { durability: 'fsync' as never }, 'config ledger.durability must be one of normal, full, got "fsync"'],
    ['maxBatch', { maxBatch: 0 }, 'config ledger.maxBatch must be a positive integer, got 0'],
    ['checkpointEvery', { checkpointEvery: 1.5 }, 'config ledger.checkpointEvery must be a positive integer, got 1.5'],
    ['checkpointSeconds', { checkpointSeconds: -1 }, 'config ledger.checkpointSeconds must be a positive integer, got -1'],
    ['busyTimeoutMs', { busyTimeoutMs: '5s' as never }, 'config ledger.busyTimeoutMs must be a positive integer, got "5s"'],
    ['fileCheckMs', { fileCheckMs: 0 }, 'config ledger.fileCheckMs must be a positive integer, got 0'],
    ['walCheckpointMs', { walCheckpointMs: 0 }, 'config ledger.walCheckpointMs must be a positive integer, got 0'],
    ['walLimitBytes', { walLimitBytes: 0 }, 'config ledger.walLimitBytes must be a positive integer, got 0'],
    ['pageSize (not a power of two)', { pageSize: 3000 }, 'config ledger.pageSize must be a power of two from 512 to 65536, got 3000'],
    ['pageSize (too small)', { pageSize: 256 }, 'config ledger.pageSize must be a power of two from 512 to 65536, got 256'],
  ])('a bad %s is refused as config_invalid, naming the key', (_key, overrides, message) => {
    const err = refusal(overrides);
    expect(err.code).toBe('config_invalid');
    expect(err.message).toBe(message);
  });

  it('a writer thread needs a ledger file', () => {
    const err = refusal({ thread: true }, ':memory:');
    expect(err.code).toBe('config_invalid');
    expect(err.message).toBe('config ledger.thread needs a ledger file: a ledger in memory cannot be written from another thread');
    expect(ledgerConfig('ledger.db', { thread: true }).thread).toBe(true);
  });
});

describe('defaultKeyPath', () => {
  it('is the key given, else <ledger>.key beside a file; a ledger in memory has none (its key lives and dies with it)', () => {
    expect(defaultKeyPath(ledgerConfig('data/ledger.db'))).toBe('data/ledger.db.key');
    expect(defaultKeyPath(ledgerConfig('data/ledger.db', { keyPath: '/keys/k.pem' }))).toBe('/keys/k.pem');
    expect(defaultKeyPath(ledgerConfig(':memory:'))).toBeUndefined();
    expect(defaultKeyPath(ledgerConfig(':memory:', { keyPath: '/keys/k.pem' }))).toBe('/keys/k.pem');
  });
});
