import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import type { RunningConsole } from '../../src/transport/console/app.js';
import { csvCell } from '../../src/transport/console/export.js';
import { formatCursors, parseCursors } from '../../src/transport/console/filters.js';
import { escapeText, html } from '../../src/transport/console/html.js';
import { mintLoginToken } from '../../src/transport/console/login-link.js';
import { startConsole } from '../../src/transport/console/server.js';
import { accessRules, peopleRules } from '../../src/transport/security/access-file.js';
import { AccessPolicy } from '../../src/transport/security/access-policy.js';
import { GAVEL_BIN, ROOT, tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { coreOptions, decideVia, echoInput } from '../ledger/fixtures.js';
import { editPayload } from '../helpers/payloads.js';

const log = pino({ level: 'silent' });

describe('console pieces', () => {
  it('escapes markup and shows invisible characters; fragments built by html stay markup', () => {
    expect(escapeText(`<img src=x onerror="a('b')">&`)).toBe('&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;');
    expect(escapeText('abc\u202Edef\u200B\u0007\n\t')).toBe('abc⟨U+202E⟩def⟨U+200B⟩⟨U+0007⟩\n\t');
    expect(html`<p>${'<b>'}${html`<i>${'&'}</i>`}${['<', html`<br>`]}${undefined}${false}${0}</p>`.text).toBe('<p>&lt;b&gt;<i>&amp;</i>&lt;<br>0</p>');
  });

  it('quotes CSV cells and defuses spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"\n')).toBe('"say ""hi""\n"');
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell(['a', 'b'])).toBe('"[""a"",""b""]"');
    expect(csvCell(12)).toBe('12');
    expect(csvCell(undefined)).toBe('');
  });

  it('reads back the page cursors it writes, and refuses others', () => {
    const cursors = parseCursors('0:12:1700000000000,1:end', 2);
    expect(cursors.get(0)).toEqual({ seq: 12, timeMs: 1700000000000 });
    expect(cursors.get(1)).toBe('end');
    expect(formatCursors(cursors)).toBe('0:12:1700000000000,1:end');
    for (const bad of ['2:1:1', '0:1:1,0:2:2', 'x', '0:1', '0:-1:5', ['0:1:1']]) expect(() => parseCursors(bad, 2)).toThrow(/cursor/);
  });

  it('the access file gives people approver roles by pattern; a bad people entry is refused naming its place', () => {
    const doc = {
      identities: [{ match: 'mia@corp.example', roles: ['approve'] }],
      people: [
        { match: 'mia@corp.example', roles: ['finance-manager'] },
        { match: '*.corp.example', roles: ['team-lead'] },
      ],
    };
    const policy = AccessPolicy.of(accessRules(doc, 'f'), peopleRules(doc, 'f'));
    expect(policy.approverRolesOf({ kind: 'cn', name: 'mia@corp.example' })).toEqual(['finance-manager']);
    expect(policy.approverRolesOf({ kind: 'cn', name: 'lee.corp.example' })).toEqual(['team-lead']);
    expect(policy.approverRolesOf({ kind: 'cn', name: 'eve@else.example' })).toEqual([]);
    expect(() => peopleRules({ people: [{ match: 'a', roles: ['bad role!'] }] }, 'f')).toThrow('f: people[0].roles[0]');
    expect(() => peopleRules({ people: [{ match: 'a', roles: [], extra: 1 }] }, 'f')).toThrow('people[0].extra is not a known key');
    expect(() => peopleRules({ people: 'x' }, 'f')).toThrow('people must be a list');
    expect(() => accessRules({ identities: [], other: 1 }, 'f')).toThrow('other is not a known key (known: identities, people)');
  });
});

/** A console over a runtime, with a clock the test moves; requests by fetch, cookies by hand. */
describe('console sessions and roles over HTTP', () => {
  let core: Runtime;
  let web: RunningConsole;
  let clock = Date.parse('2026-12-05T10:00:00Z');
  const secret = new Uint8Array(32).fill(7);
  beforeAll(async () => {
    core = await startRuntime(coreOptions(':memory:'));
    await decideVia(core, echoInput({ subject: 'alice', decision: 'deny' }));
    const access = AccessPolicy.of([
      { match: 'ann@corp.example', roles: ['audit'] },
      { match: 'dee@corp.example', roles: ['decide'] },
    ]);
    web = await startConsole(
      { ledgers: [core.audit.view], readOnly: false },
      { listen: '127.0.0.1:0', secret, access, dev: false, log, sessionMinutes: 30, now: () => new Date(clock) },
    );
  });
  afterAll(async () => {
    await web.close();
    await core.stop();
  });

  const signIn = async (identity: string): Promise<string> => {
    const token = await mintLoginToken(secret, identity, 300, new Date(clock));
    const res = await fetch(`${web.url}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
    expect(res.status).toBe(303);
    return /gavel_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
  };
  const get = (path: string, session?: string) =>
    fetch(`${web.url}${path}`, { headers: session ? { cookie: `gavel_session=${session}` } : {}, redirect: 'manual' });

  it('a session opens pages until it expires, then the sign-in page answers 401', async () => {
    const session = await signIn('ann@corp.example');
    expect((await get('/decisions', session)).status).toBe(200);
    clock += 29 * 60_000;
    expect((await get('/decisions', session)).status).toBe(200);
    clock += 2 * 60_000;
    const expired = await get('/decisions', session);
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain('Sign in to continue');
  });

  it("a link signs in once; a state-changing form needs the session's CSRF token and this origin", async () => {
    const token = await mintLoginToken(secret, 'ann@corp.example', 300, new Date(clock));
    const first = await fetch(`${web.url}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
    expect(first.status).toBe(303);
    const again = await fetch(`${web.url}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('already used');
    const session = /gavel_session=([^;]+)/.exec(first.headers.get('set-cookie') ?? '')![1]!;
    const page = await (await get('/integrity', session)).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const post = (body: Record<string, string>, origin?: string) =>
      fetch(`${web.url}/integrity/verify`, {
        method: 'POST',
        body: new URLSearchParams(body),
        headers: { cookie: `gavel_session=${session}`, ...(origin ? { origin } : {}) },
        redirect: 'manual',
      });
    expect((await post({ ledger: '0' })).status).toBe(403);
    expect((await post({ ledger: '0', _csrf: `${csrf.slice(0, -1)}x` })).status).toBe(403);
    expect((await post({ ledger: '0', _csrf: csrf }, 'https://evil.example')).status).toBe(403);
    expect((await post({ ledger: '0', _csrf: csrf }, web.url)).status).toBe(303);
    expect((await post({ ledger: '0', _csrf: csrf })).status).toBe(303);
  });

  it('an expired link, a link signed with another secret and a tampered one are refused', async () => {
    const old = await mintLoginToken(secret, 'ann@corp.example', 60, new Date(clock - 120_000));
    const other = await mintLoginToken(new Uint8Array(32).fill(1), 'ann@corp.example', 300, new Date(clock));
    const good = await mintLoginToken(secret, 'ann@corp.example', 300, new Date(clock));
    const [h, p, s] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'root' })).toString('base64url')}.${s}`;
    for (const token of [old, other, tampered, 'junk']) {
      const res = await fetch(`${web.url}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
      expect(res.status).toBe(401);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });

  it('a person without the audit role is refused the decisions page (403) and nothing else opens without a session', async () => {
    const dee = await signIn('dee@corp.example');
    const res = await get('/decisions', dee);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('needs the audit role');
    for (const path of ['/decisions', '/entries/x', '/timeline', '/approvals', '/budgets', '/policies', '/integrity', '/export.csv']) {
      expect((await get(path)).status).toBe(401);
    }
  });

  it('a file upload is read only from a signed-in admin on the Policies page: others are refused before the body is read', async () => {
    const ann = await signIn('ann@corp.example');
    const form = () => {
      const f = new FormData();
      f.set('candidate', new Blob([Buffer.alloc(1024)]), 'c.tar.gz');
      return f;
    };
    const anonymous = await fetch(`${web.url}/policies/replay`, { method: 'POST', body: form(), redirect: 'manual' });
    expect(anonymous.status).toBe(401);
    const notAdmin = await fetch(`${web.url}/policies/replay`, {
      method: 'POST',
      body: form(),
      headers: { cookie: `gavel_session=${ann}` },
      redirect: 'manual',
    });
    expect(notAdmin.status).toBe(403);
    expect(await notAdmin.text()).toContain('only on the Policies page, from a signed-in admin');
    const elsewhere = await fetch(`${web.url}/approvals/x`, { method: 'POST', body: form(), headers: { cookie: `gavel_session=${ann}` }, redirect: 'manual' });
    expect(elsewhere.status).toBe(403);
  });

  it('every page carries the strict CSP and no inline script', async () => {
    const session = await signIn('ann@corp.example');
    const res = await get('/decisions', session);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await res.text();
    expect(body).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(body).not.toMatch(/\son[a-z]+=/i);
    expect(body).not.toMatch(/\sstyle=/);
  });

  it('refuses to serve development mode off loopback, or sessions in clear off loopback', async () => {
    await expect(
      startConsole({ ledgers: [core.audit.view], readOnly: false }, { listen: '0.0.0.0:0', secret, access: AccessPolicy.everyone(), dev: true, log }),
    ).rejects.toThrow(/development mode serves loopback only/);
    await expect(
      startConsole({ ledgers: [core.audit.view], readOnly: false }, { listen: '0.0.0.0:0', secret, access: AccessPolicy.of([]), dev: false, log }),
    ).rejects.toThrow(/without TLS/);
  });
});

describe('gavel console --ledger a --ledger b (read-only, several replicas)', () => {
  const dir = tempDir('gavel-console-ro-');
  const ledgers = [join(dir, 'eu.db'), join(dir, 'us.db')];
  let url = '';
  let child: ReturnType<typeof spawn>;
  const ids = new Set<string>();
  beforeAll(async () => {
    // The two replicas' entries interleave in time: eu at whole seconds, us half a second later.
    for (const [i, path] of ledgers.entries()) {
      let t = Date.parse('2026-12-01T00:00:00Z') + i * 500;
      const now = () => {
        t += 1000;
        return new Date(t);
      };
      const core = await startRuntime({ ...coreOptions(path), now });
      for (let n = 0; n < 30; n++) ids.add((await decideVia(core, echoInput({ subject: `${i ? 'us' : 'eu'}-${n}` }))).decisionId);
      await core.stop();
    }
    child = spawn(process.execPath, [GAVEL_BIN, 'console', ...ledgers.flatMap((l) => ['--ledger', l]), '--listen', '127.0.0.1:0'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`gavel console exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('gavel console serving')) resolve((JSON.parse(line) as { console: string }).console);
      });
    });
  }, 60_000);
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('pages through both ledgers merged by time without a gap or a repeat, and exports them all', async () => {
    const login = await runCli(['console', 'login', '--identity', 'auditor', '--ledger', ledgers[0]!, '--url', url]);
    expect(login.code, login.stderr).toBe(0);
    const token = new URL(login.stdout.trim()).searchParams.get('token')!;
    const res = await fetch(`${url}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
    const cookie = `gavel_session=${/gavel_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]}`;
    const seen: string[] = [];
    let next: string | undefined = '/decisions?kind=decision';
    let pages = 0;
    while (next && pages < 5) {
      const page = await (await fetch(`${url}${next}`, { headers: { cookie } })).text();
      expect(page).toContain('read-only');
      for (const m of page.matchAll(/href="\/entries\/([0-9a-f-]{36})(?:\?ledger=1)?"/g)) seen.push(m[1]!);
      next = /href="(\/decisions\?[^"]*cursor=[^"]*)" rel="next"/.exec(page)?.[1]?.replace(/&amp;/g, '&');
      pages++;
    }
    expect(pages).toBe(2);
    expect(seen).toHaveLength(60);
    expect(new Set(seen)).toEqual(ids);
    const csv = await (await fetch(`${url}/export.csv?kind=decision`, { headers: { cookie } })).text();
    const rows = csv.trim().split('\r\n');
    expect(rows[0]!.startsWith('ledger,kind,decision_id,time')).toBe(true);
    expect(rows).toHaveLength(61);
    expect(rows.filter((r) => r.startsWith(ledgers[1]!))).toHaveLength(30);
    // Newest first across both files, alternating between them.
    const times = rows.slice(1).map((r) => Date.parse(r.split(',')[3]!));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(rows.slice(1, 5).map((r) => r.split(',')[0])).toEqual([ledgers[1], ledgers[0], ledgers[1], ledgers[0]]);
    const approvals = await (await fetch(`${url}/approvals`, { headers: { cookie } })).text();
    expect(approvals).toContain('this console reads ledger files');
  });
});

describe('signing in with a client certificate (mutual TLS)', () => {
  it('a browser presenting a certificate from the client CA signs in as its identity, with the roles the access file gives it', async () => {
    const { buildPki } = await import('../helpers/pki.js');
    const { TlsFiles } = await import('../../src/transport/security/tls-files.js');
    const { request } = await import('node:https');
    const pki = await buildPki({
      auditor: { cn: 'auditor', uris: ['spiffe://gavel.test/people/ann'] },
      stranger: { cn: 'x', uris: ['spiffe://gavel.test/people/eve'], by: 'other-ca' },
    });
    const core = await startRuntime(coreOptions(':memory:'));
    const tls = new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caFile });
    const access = AccessPolicy.of([{ match: 'spiffe://gavel.test/people/ann', roles: ['audit'] }]);
    const web = await startConsole(
      { ledgers: [core.audit.view], readOnly: false },
      { listen: '127.0.0.1:0', secret: new Uint8Array(32), access, dev: false, tls, log },
    );
    const call = (method: string, path: string, pair?: { cert: string; key: string }, cookie?: string) =>
      new Promise<{ status: number; cookie: string | undefined; body: string }>((resolve, reject) => {
        const req = request(
          `${web.url}${path}`,
          { method, ca: pki.caPem, servername: 'localhost', ...(pair ? { cert: pair.cert, key: pair.key } : {}), headers: cookie ? { cookie } : {} },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, cookie: res.headers['set-cookie']?.[0], body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      expect(web.url.startsWith('https://')).toBe(true);
      const page = await call('GET', '/login', pki.clients.auditor);
      expect(page.body).toContain('Sign in as spiffe://gavel.test/people/ann (your client certificate)');
      const signed = await call('POST', '/login/certificate', pki.clients.auditor);
      expect(signed.status).toBe(303);
      expect(signed.cookie).toMatch(/gavel_session=[^;]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict/);
      const decisions = await call('GET', '/decisions', undefined, signed.cookie!.split(';')[0]);
      expect(decisions.status).toBe(200);
      expect(decisions.body).toContain('spiffe://gavel.test/people/ann</strong> (audit)');
      // No certificate, or one from another CA: no sign-in by certificate.
      expect((await call('POST', '/login/certificate')).status).toBe(401);
      expect((await call('POST', '/login/certificate', pki.clients.stranger)).status).toBe(401);
      expect((await call('GET', '/login', pki.clients.stranger)).body).not.toContain('your client certificate');
    } finally {
      await web.close();
      tls.close();
      await core.stop();
    }
  });
});

describe('integrity, export and development mode', () => {
  it('verify now names the first bad seq of a tampered ledger; JSON Lines export; development mode says so on every page', async () => {
    const { openAsAttacker } = await import('../ledger/fixtures.js');
    const { openLedgerFileView } = await import('../../src/runtime/ledger-view.js');
    const path = join(tempDir('gavel-console-tamper-'), 'ledger.db');
    const writer = await startRuntime(coreOptions(path));
    for (let n = 0; n < 12; n++) await decideVia(writer, echoInput({ subject: `t-${n}` }));
    await writer.stop();
    const attacker = openAsAttacker(path);
    const bad = (attacker.prepare("SELECT seq FROM entries WHERE subject_id = 't-7'").get() as { seq: number }).seq;
    editPayload(attacker, bad, (text) => text.replace('t-7', 't-8'));
    attacker.close();
    const view = openLedgerFileView(path);
    const secret = new Uint8Array(32).fill(9);
    const web = await startConsole({ ledgers: [view], readOnly: true }, { listen: '127.0.0.1:0', secret, access: AccessPolicy.everyone(), dev: true, log });
    try {
      const token = await mintLoginToken(secret, 'someone', 300);
      const login = await fetch(`${web.url}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
      const cookie = `gavel_session=${/gavel_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')![1]}`;
      for (const p of ['/decisions', '/integrity', '/budgets', '/policies', '/timeline', '/approvals']) {
        expect(await (await fetch(`${web.url}${p}`, { headers: { cookie } })).text()).toContain('Development mode');
      }
      const page = await (await fetch(`${web.url}/integrity`, { headers: { cookie } })).text();
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
      await fetch(`${web.url}/integrity/verify`, {
        method: 'POST',
        body: new URLSearchParams({ _csrf: csrf, ledger: '0' }),
        headers: { cookie },
        redirect: 'manual',
      });
      let status: { running: boolean; ok: boolean | null; failed_seq: number } = { running: true, ok: null, failed_seq: 0 };
      for (let i = 0; i < 200 && status.running; i++) {
        await new Promise((r) => setTimeout(r, 25));
        status = (await (await fetch(`${web.url}/integrity/status?ledger=0`, { headers: { cookie } })).json()) as typeof status;
      }
      expect(status).toMatchObject({ running: false, ok: false, failed_seq: bad });
      const after = await (await fetch(`${web.url}/integrity`, { headers: { cookie } })).text();
      expect(after).toContain(`FAILED at seq <strong class="bad-seq">${bad}</strong> (payload_changed)`);
      const lines = (await (await fetch(`${web.url}/export.jsonl?subject=t-3`, { headers: { cookie } })).text()).trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ ledger: path, kind: 'decision', subject_id: 't-3', entry_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    } finally {
      await web.close();
      view.close();
    }
  });
});
