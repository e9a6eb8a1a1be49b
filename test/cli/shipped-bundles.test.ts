import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundlesFolder, SHIPPED_BUNDLES } from '../../src/cli/shipped-bundles.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { type ChildServer, failedStart, servingLine, startChild } from '../helpers/server.js';

/**
 * `npx @gavel-pdp/gavel serve` in an empty folder serves the reference bundles the package ships,
 * and says so; a folder an operator named is never swapped for them.
 */
describe('the shipped reference bundles', () => {
  let srv: ChildServer | undefined;
  afterEach(() => {
    srv?.child.kill('SIGKILL');
    srv = undefined;
  });

  it('are the package root bundles/ folder', () => {
    expect(SHIPPED_BUNDLES).toBe(BUNDLES);
  });

  it('stand in only for the default ./bundles when it is missing and nothing named a folder', () => {
    const none = () => false;
    expect(bundlesFolder('./bundles', 'default', none)).toEqual({ folder: SHIPPED_BUNDLES, shipped: true });
    expect(bundlesFolder('./bundles', 'default', () => true)).toEqual({ folder: './bundles', shipped: false });
    for (const source of ['cli', 'config', 'env'])
      expect([source, bundlesFolder('./bundles', source, none)]).toEqual([source, { folder: './bundles', shipped: false }]);
    expect(bundlesFolder('/srv/policies', 'default', none)).toEqual({ folder: '/srv/policies', shipped: false });
  });

  it('gavel serve with no bundles named, in an empty folder, serves them and warns', { timeout: 60_000 }, async () => {
    const empty = tempDir('gavel-empty-');
    srv = await startChild([], { GAVEL_BUNDLES: undefined }, empty);
    expect(servingLine<{ bundles: Array<{ name: string }> }>(srv).bundles.map((b) => b.name)).toEqual(['ai']);
    const warning = srv.lines.map((l) => JSON.parse(l) as { level: number; msg: string; bundles?: string }).find((l) => l.msg.includes('reference bundles'));
    expect(warning).toMatchObject({ level: 40, bundles: SHIPPED_BUNDLES });
  });

  it('a folder named on the command line that does not exist fails the start instead', { timeout: 60_000 }, async () => {
    const empty = tempDir('gavel-empty-');
    mkdirSync(join(empty, 'data'));
    expect(await failedStart(['--bundles', './bundles'], { GAVEL_BUNDLES: undefined }, empty)).toContain('bundles path ./bundles does not exist');
  });
});
