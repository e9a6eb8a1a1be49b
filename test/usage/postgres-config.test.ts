import { describe, expect, it } from 'vitest';
import { isPostgresUrl, POSTGRES_USAGE_DEFAULTS, postgresUsageConfig, redactUrl } from '../../src/usage/postgres/config.js';

/** The shared store's own config: defaults, validation naming the key, and URLs that never show their password. */
describe('postgresUsageConfig', () => {
  it('fills in the defaults and keeps the URL', () => {
    const c = postgresUsageConfig('postgres://gavel:pw@db:5432/gavel');
    expect(c).toEqual({ ...POSTGRES_USAGE_DEFAULTS, url: 'postgres://gavel:pw@db:5432/gavel' });
    expect(POSTGRES_USAGE_DEFAULTS).toEqual({ poolSize: 16, timeoutMs: 2000, probeMs: 1000, idleTransactionMs: 60_000, pruneMs: 60_000 });
    expect(postgresUsageConfig('postgresql://db/gavel', { poolSize: 4, timeoutMs: undefined }).poolSize).toBe(4);
    expect(postgresUsageConfig('postgresql://db/gavel', { timeoutMs: undefined }).timeoutMs).toBe(2000);
  });

  it('refuses another scheme, naming the key and hiding the password', () => {
    expect(() => postgresUsageConfig('mysql://u:secret@db/x')).toThrow(/usage.store must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => postgresUsageConfig('mysql://u:secret@db/x')).not.toThrow(/secret/);
    expect(() => postgresUsageConfig('db:5432')).toThrow(/config usage.store/);
    expect(() => postgresUsageConfig('db:5432')).toThrow(expect.objectContaining({ code: 'config_invalid' }));
    expect(isPostgresUrl('postgres://db')).toBe(true);
    expect(isPostgresUrl('postgresql://db')).toBe(true);
    expect(isPostgresUrl('xpostgres://db')).toBe(false);
  });

  it.each(['poolSize', 'timeoutMs', 'probeMs', 'idleTransactionMs', 'pruneMs'] as const)('refuses a %s that is not a positive integer', (key) => {
    for (const bad of [0, -1, 1.5]) {
      expect(() => postgresUsageConfig('postgres://db/gavel', { [key]: bad })).toThrow(new RegExp(`usage.store.${key} must be a positive integer`));
    }
  });

  it('redacts the password of any URL, parsable or not', () => {
    expect(redactUrl('postgres://gavel:s3cret@db:5432/gavel?sslmode=verify-full')).toBe('postgres://gavel:***@db:5432/gavel?sslmode=verify-full');
    expect(redactUrl('postgres://gavel@db/gavel')).toBe('postgres://gavel@db/gavel');
    expect(redactUrl('postgres://u:p%40ss@[::1:5432/x')).toBe('postgres://u:***@[::1:5432/x');
    expect(redactUrl('postgres://gavel:s3cret@[::1:5432/x')).toBe('postgres://gavel:***@[::1:5432/x');
  });
});
