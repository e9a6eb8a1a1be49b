import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, FIONA, transfer } from '../approvals/helpers.js';
import { axeViolations, launchBrowser, screenshot } from '../helpers/browser.js';
import { jsonInput, unary, type Clients } from '../helpers/client.js';
import { BUNDLES, FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { buildPki, tlsClients, type Pki } from '../helpers/pki.js';
import { runCli, servingLine, startChild, type ChildServer } from '../helpers/server.js';
import { modelCall, report } from '../usage/helpers.js';

/**
 * The console in a real browser (Debian's headless Chromium, driven by puppeteer-core) against a real
 * `gavel serve` under mutual TLS with an access file: sign-in links, the decisions page and an
 * entry's detail, payloads withheld or shown by role, the whole approval loop from the page, budget
 * charts after real usage reports, hostile ledger strings, CSRF, axe-core and the keyboard.
 */
const GATEWAY = 'spiffe://gavel.test/gateway';
const ACCESS = `identities:
  - match: "${GATEWAY}"
    roles: [decide, report]
  - match: "mia@corp.example"
    roles: [approve, audit]
  - match: "ann@corp.example"
    roles: [audit]
  - match: "pat@corp.example"
    roles: [audit, audit-payloads]
  - match: "ada@corp.example"
    roles: [admin, audit]
people:
  - match: "mia@corp.example"
    roles: [finance-manager]
`;
// The page's globals, typed as far as these tests read them (the DOM lib would retype Node's globals for the whole program).
declare const document: { activeElement: unknown; querySelector(selector: string): unknown };
declare const window: Record<string, unknown>;
type Shown = { innerText: string };

const HOSTILE_SUBJECT = '<img src=x onerror="window.__pwned=1">';
const HOSTILE_TOOL = 'docs\u202Edaer.sj';

let pki: Pki;
let srv: ChildServer;
let c: Clients;
let ledger: string;
let consoleUrl: string;
let browser: Browser;
const dialogs: string[] = [];

beforeAll(async () => {
  pki = await buildPki({ gateway: { cn: 'gateway', uris: [GATEWAY] } });
  const dir = tempDir('gavel-console-');
  ledger = join(dir, 'ledger.db');
  const access = join(dir, 'access.yaml');
  writeFileSync(access, ACCESS);
  srv = await startChild([
    '--bundles',
    BUNDLES,
    '--ledger',
    ledger,
    '--tls-cert',
    pki.serverCert,
    '--tls-key',
    pki.serverKey,
    '--client-ca',
    pki.caFile,
    '--access',
    access,
    '--console-listen',
    '127.0.0.1:0',
    '--workers',
    '1',
  ]);
  consoleUrl = servingLine<{ console: string }>(srv).console;
  c = tlsClients(srv.address, pki.caPem, pki.clients.gateway);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  c?.close();
  srv?.child.kill('SIGTERM');
  await srv?.exited;
});

async function link(identity: string): Promise<string> {
  const res = await runCli(['console', 'login', '--identity', identity, '--ledger', ledger, '--url', consoleUrl]);
  expect(res.code, res.stderr).toBe(0);
  return res.stdout.trim();
}

/** A fresh browser context (its own cookies) signed in as `identity` through a one-time link. */
async function signIn(identity: string): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(await link(identity));
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button')]);
  expect(new URL(page.url()).pathname).toBe('/decisions');
  return page;
}

const decide = (input: unknown) => unary(c.decision, 'Decide', jsonInput(input));
const text = (page: Page) => page.$eval('main', (m) => (m as unknown as Shown).innerText);

describe('the console in a browser', () => {
  it('signs in by a one-time link: the link works once, and the page names the person and their roles', async () => {
    const url = await link('ann@corp.example');
    const first = await (await browser.createBrowserContext()).newPage();
    await first.goto(url);
    expect(await text(first)).toContain('This link signs you in as ann@corp.example');
    await Promise.all([first.waitForNavigation(), first.click('form[action="/login"] button')]);
    expect(new URL(first.url()).pathname).toBe('/decisions');
    expect(await first.$eval('.who', (e) => (e as unknown as Shown).innerText)).toContain('ann@corp.example (audit)');
    const second = await (await browser.createBrowserContext()).newPage();
    await second.goto(url);
    const [res] = await Promise.all([second.waitForNavigation(), second.click('form[action="/login"] button')]);
    expect(res?.status()).toBe(401);
    expect(await text(second)).toContain('already used');
  });

  it('filters decisions from the form into a shareable URL, opens one and explains why it was denied; the payload is withheld for audit', async () => {
    const denied = await decide({ ...modelCall({ subject: 'dora', team: 'sales', costCenter: 'cc-7' }, 'frontier-xl'), content: { prompt: 'secret plan' } });
    expect(denied.decision).toBe('DECISION_DENY');
    const page = await signIn('ann@corp.example');
    await page.type('input[name="subject"]', 'dora');
    await page.select('select[name="kind"]', 'decision');
    await Promise.all([page.waitForNavigation(), page.click('form.filters button[type="submit"]')]);
    const url = new URL(page.url());
    expect(url.searchParams.get('subject')).toBe('dora');
    expect(url.searchParams.get('kind')).toBe('decision');
    const rows = await page.$$eval('table.entries tbody tr', (trs) => trs.map((tr) => (tr as unknown as Shown).innerText));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('model_not_permitted');
    await screenshot(page, 'decisions');
    await Promise.all([page.waitForNavigation(), page.click('table.entries tbody tr a')]);
    const detail = await text(page);
    expect(detail).toContain('Outcome: deny');
    expect(detail).toContain("Why: no role or team of the subject grants model 'frontier-xl'.");
    expect(detail).toMatch(/deny\s+model_not_permitted\s+ai\.models/);
    expect(detail).toContain(denied.policy.revision);
    expect(detail).toContain('Withheld');
    expect(detail).not.toContain('secret plan');
    await screenshot(page, 'entry-detail');
    // Someone with audit-payloads sees the masked input on the same URL.
    const pat = await signIn('pat@corp.example');
    await pat.goto(page.url());
    const shown = await text(pat);
    expect(shown).not.toContain('Withheld');
    expect(shown).toContain('"input"');
    expect(shown).toContain('frontier-xl');
  });

  it('runs the approval loop from the page: REQUIRE_APPROVAL, approve with the keyboard, one allowed Decide, the timeline tells it', async () => {
    const asked = await decide(transfer(25_000));
    expect(asked.decision).toBe('DECISION_REQUIRE_APPROVAL');
    const id = asked.approval.approval_id as string;
    const mia = await signIn('mia@corp.example');
    await mia.goto(`${consoleUrl}/approvals`);
    expect(await text(mia)).toContain(id);
    await screenshot(mia, 'approvals');
    // Keyboard only: Tab to the comment box, type, Tab to Approve, Enter.
    const comment = `#a-${id.replace(/[^A-Za-z0-9_-]/g, '_')}-comment`;
    for (let i = 0; i < 60 && !(await mia.$eval(comment, (el) => el === document.activeElement)); i++) await mia.keyboard.press('Tab');
    expect(await mia.$eval(comment, (el) => el === document.activeElement)).toBe(true);
    await mia.keyboard.type('ok for ACME, invoice 42');
    await mia.keyboard.press('Tab');
    expect(await mia.evaluate(() => (document.activeElement as { value: string }).value)).toBe('approve');
    await Promise.all([mia.waitForNavigation(), mia.keyboard.press('Enter')]);
    expect(await text(mia)).toContain(`Request ${id} is approved.`);

    const allowed = await decide(transfer(25_000, { approvalId: id }));
    expect(allowed.decision).toBe('DECISION_ALLOW');
    const again = await decide(transfer(25_000, { approvalId: id }));
    expect(codes(again)).toContain('approval_consumed');

    await mia.goto(`${consoleUrl}/timeline?subject=${FIONA.id}`);
    const story = await text(mia);
    expect(story).toMatch(/requested[\s\S]*approved[\s\S]*by mia@corp\.example: “ok for ACME, invoice 42” via gavel-console[\s\S]*consumed/);
    await screenshot(mia, 'timeline');
    // The vote's entry names the console as the front end and mia, with the roles the access file gives her.
    const entries = await runCli(['audit', 'query', '--ledger', ledger, '--kind', 'approval', '--decision', 'approved', '--json']);
    const vote = JSON.parse(entries.stdout.trim().split('\n')[0]!) as { caller: string; decision_id: string };
    expect(vote.caller).toBe('gavel-console');
    const pat = await signIn('pat@corp.example');
    await pat.goto(`${consoleUrl}/entries/${vote.decision_id}`);
    const voteDetail = await text(pat);
    expect(voteDetail).toContain('"id": "mia@corp.example"');
    expect(voteDetail).toContain('"finance-manager"');
  });

  it('someone without the approve role sees the queue but no form, and a POST without the CSRF token is refused', async () => {
    const asked = await decide(transfer(30_000));
    const id = asked.approval.approval_id as string;
    const ann = await signIn('ann@corp.example');
    await ann.goto(`${consoleUrl}/approvals`);
    expect(await text(ann)).toContain('resolving needs the approve role');
    expect(await ann.$$(`form[action="/approvals/${id}"]`)).toHaveLength(0);
    const mia = await signIn('mia@corp.example');
    await mia.goto(`${consoleUrl}/approvals`);
    const status = await mia.evaluate(async (path) => {
      const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'verdict=approve' });
      return res.status;
    }, `/approvals/${id}`);
    expect(status).toBe(403);
    // The gateway identity may read its own request: still pending.
    const still = await unary(c.approval, 'GetApproval', { approval_id: id });
    expect(still.state_enum).toBe('APPROVAL_STATE_PENDING');
  });

  it('draws the budget charts from real usage reports', async () => {
    const who = { subject: 'bea', team: 'payments', costCenter: 'cc-9' };
    const ok = await decide(modelCall(who, 'standard-m', 400));
    expect(ok.decision).toBe('DECISION_ALLOW');
    await report(c, ok.decision_id, who, 'standard-m', 300, 120);
    const page = await signIn('ann@corp.example');
    await page.goto(`${consoleUrl}/budgets?scope=team&key=payments`);
    const body = await text(page);
    expect(body).toContain('team weekly tokens');
    const bars = await page.$$eval('figure.chart rect.tone-a title', (ts) => ts.map((t) => t.textContent ?? ''));
    expect(bars.some((t) => /: 420 tokens$/.test(t))).toBe(true);
    expect(await page.$$eval('main table', (ts) => ts.map((t) => (t as unknown as Shown).innerText).join('\n'))).toMatch(/payments\s+420/);
    await screenshot(page, 'budgets');
  });

  it('renders hostile ledger strings inert: no element, no script, no dialog; bidi overrides are shown', async () => {
    await decide({
      subject: { id: HOSTILE_SUBJECT, type: 'user', roles: ['employee'], team: 'red' },
      action: { type: 'tool.call', tool: HOSTILE_TOOL, params: { note: '<script>window.__pwned=2</script>' } },
      context: { environment: 'prod' },
    });
    const pat = await signIn('pat@corp.example');
    await pat.goto(`${consoleUrl}/decisions?team=red`);
    expect(await text(pat)).toContain(HOSTILE_SUBJECT);
    expect(await text(pat)).toContain('docs⟨U+202E⟩daer.sj');
    await Promise.all([pat.waitForNavigation(), pat.click('table.entries tbody tr a')]);
    expect(await text(pat)).toContain('<script>window.__pwned=2</script>');
    expect(await pat.$$('main img')).toHaveLength(0);
    expect(await pat.$$('main script')).toHaveLength(0);
    expect(await pat.evaluate(() => window.__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });

  it('a signed-out session is refused, and the sign-in page says why', async () => {
    const page = await signIn('ann@corp.example');
    const cookies = await page.browserContext().cookies();
    const session = cookies.find((k) => k.name === 'gavel_session')!;
    expect(session.httpOnly).toBe(true);
    expect(session.secure).toBe(true);
    expect(session.sameSite).toBe('Strict');
    await Promise.all([page.waitForNavigation(), page.click('form.who button')]);
    // The old cookie, put back by hand, no longer opens a page.
    await page.setCookie({ ...session, url: consoleUrl });
    const again = await page.goto(`${consoleUrl}/decisions`);
    expect(again?.status()).toBe(401);
    expect(await text(page)).toContain('Sign in to continue');
  });

  it('every page passes axe-core with no serious or critical violation, and each is screenshotted', async () => {
    const page = await signIn('mia@corp.example');
    for (const path of ['/decisions', '/timeline?subject=fiona', '/approvals', '/budgets?scope=team&key=payments', '/policies', '/integrity', '/login']) {
      await page.goto(`${consoleUrl}${path}`);
      const violations = await axeViolations(page);
      expect(violations.map((v) => `${path}: ${v.id} (${v.impact}) ${v.help}`)).toEqual([]);
    }
    await page.goto(`${consoleUrl}/policies`);
    await screenshot(page, 'policies');
  });

  it('replays an uploaded candidate from the policies page (admin), with progress, and shows what would change', async () => {
    const who = { subject: 'quinn', team: 'sales', costCenter: 'cc-1' };
    const ok = await decide({ ...modelCall(who), content: { prompt: 'draft the quarterly numbers' } });
    expect(ok.decision).toBe('DECISION_ALLOW');
    const ann = await signIn('ann@corp.example');
    await ann.goto(`${consoleUrl}/policies`);
    expect(await text(ann)).toContain('Replaying a candidate needs the admin role');
    const ada = await signIn('ada@corp.example');
    await ada.goto(`${consoleUrl}/policies`);
    const input = await ada.$('input[type="file"][name="candidate"]');
    await input!.uploadFile(join(FIXTURE_BUNDLES, 'candidates/keyword-deny.tar.gz'));
    await Promise.all([ada.waitForNavigation(), ada.click('form[action="/policies/replay"] button')]);
    await ada.waitForFunction(() => document.querySelector('.verify .ok, .verify .error') !== null, { timeout: 30_000 });
    const report = await text(ada);
    expect(report).toMatch(/would change/);
    expect(report).toMatch(/allow\s+deny\s+\d+\s+keyword_blocked/);
    await screenshot(ada, 'policies-replay');
  });

  it('verifies the ledger from the integrity page, with progress, and shows the result', async () => {
    const page = await signIn('ann@corp.example');
    await page.goto(`${consoleUrl}/integrity`);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/integrity/verify"] button')]);
    await page.waitForFunction(() => document.querySelector('.verify .ok, .verify .error') !== null, { timeout: 20_000 });
    expect(await text(page)).toMatch(/Verified: \d+ entries/);
    await screenshot(page, 'integrity');
  });
});
