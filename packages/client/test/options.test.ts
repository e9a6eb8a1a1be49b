import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/paths.js';
import { createClient, GavelError } from '../src/index.js';
import { DEFAULT_BREAKER, DEFAULT_DEADLINE_MS, DEFAULT_RETRY, resolveOptions } from '../src/options.js';
import { findProtoRoot, PROTO_FILES, STATUS_PROTOS } from '../src/proto-root.js';

/** A folder holding these protos (empty files: only their presence is looked at). */
function protoDir(files: string[]): string {
  const dir = tempDir('gavel-protos-');
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  return dir;
}

/** createClient's options: defaults, and a bad value refused at once with config_invalid naming the key. */
function refused(options: unknown): GavelError {
  try {
    createClient(options as never);
  } catch (err) {
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('config_invalid');
    expect((err as GavelError).grpcStatus).toBe('INVALID_ARGUMENT');
    return err as GavelError;
  }
  throw new Error('createClient accepted the options');
}

describe('createClient options', () => {
  it('defaults', () => {
    const s = resolveOptions({ target: '127.0.0.1:1', tls: 'insecure' });
    expect(s).toMatchObject({ deadlineMs: DEFAULT_DEADLINE_MS, retry: DEFAULT_RETRY, breaker: DEFAULT_BREAKER, caller: undefined });
    expect(DEFAULT_RETRY).toEqual({ maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 2_000 });
    expect(DEFAULT_BREAKER).toEqual({ failures: 5, halfOpenAfterMs: 5_000, probeTimeoutMs: 1_000 });
    expect(resolveOptions({ target: 'x:1', tls: 'insecure', retry: false, breaker: false })).toMatchObject({ retry: { maxAttempts: 1 }, breaker: undefined });
    expect(resolveOptions({ target: 'x:1', tls: 'insecure', retry: { maxAttempts: 9 }, breaker: { failures: 2 } })).toMatchObject({
      retry: { ...DEFAULT_RETRY, maxAttempts: 9 },
      breaker: { ...DEFAULT_BREAKER, failures: 2 },
    });
  });

  it.each([
    [{ tls: 'insecure' }, 'target'],
    [{ target: ' ', tls: 'insecure' }, 'target'],
    [{ target: 'x:1' }, 'tls'],
    [{ target: 'x:1', tls: 'plaintext' }, 'tls'],
    [{ target: 'x:1', tls: { cert: 'pem' } }, 'tls'],
    [{ target: 'x:1', tls: 'insecure', caller: '' }, 'caller'],
    [{ target: 'x:1', tls: 'insecure', deadlineMs: 0 }, 'deadlineMs'],
    [{ target: 'x:1', tls: 'insecure', deadlineMs: 1.5 }, 'deadlineMs'],
    [{ target: 'x:1', tls: 'insecure', retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    [{ target: 'x:1', tls: 'insecure', retry: { initialBackoffMs: 500, maxBackoffMs: 100 } }, 'retry.maxBackoffMs'],
    [{ target: 'x:1', tls: 'insecure', breaker: { failures: 0 } }, 'breaker.failures'],
    [{ target: 'x:1', tls: 'insecure', breaker: { halfOpenAfterMs: -1 } }, 'breaker.halfOpenAfterMs'],
    [{ target: 'x:1', tls: 'insecure', breaker: { probeTimeoutMs: Number.NaN } }, 'breaker.probeTimeoutMs'],
  ])('%j is refused, naming %s', (options, key) => {
    expect(refused(options).message).toMatch(new RegExp(`^createClient: ${key.replace('.', '\\.')} `));
  });
});

describe('the protos at run time', () => {
  it('are looked for beside the package first, then in the repository checkout', () => {
    const all = [...PROTO_FILES, ...STATUS_PROTOS];
    const repo = protoDir(all);
    expect(findProtoRoot([protoDir(all), repo])).not.toBe(repo);
    expect(findProtoRoot([tempDir('gavel-protos-'), repo])).toBe(repo);
  });

  it('a copy missing any of them is passed over (a pack interrupted, an old copy)', () => {
    const all = [...PROTO_FILES, ...STATUS_PROTOS];
    const repo = protoDir(all);
    for (const missing of all) expect(findProtoRoot([protoDir(all.filter((f) => f !== missing)), repo])).toBe(repo);
  });

  it('missing everywhere: an error naming where it looked', () => {
    const a = tempDir('gavel-protos-');
    expect(() => findProtoRoot([a, '/nonexistent'])).toThrow(`gavel's .proto files were not found; looked in ${a}, /nonexistent`);
  });
});
