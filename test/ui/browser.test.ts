/**
 * The web UI in a real browser (Debian's Chromium through playwright-core)
 * against a real `tiercel serve` whose alerts came in through the real API:
 * sign-in, the dashboard's charts, the live stream, alert filters (special
 * characters included), the detail view, CSV export, an incident's timeline
 * and process tree, acknowledging it, and hostile markup in every field
 * that must never run. Screenshots go to test-artifacts/ui/.
 *
 * Skips, saying why, without Chromium or a built UI (CI turns a skip into a
 * failure).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { ARTIFACTS, type Browser, type Demo, EVIL, type UiServer, browserSkipReason, demoAlerts, iso, launchBrowser, startUiServe } from './helpers.js';

const skip = browserSkipReason();

/**
 * The page's globals, typed here without the DOM library (the tests are Node code). Functions passed to
 * waitForFunction run in the page, serialized (so they name no module binding); string predicates would need
 * 'unsafe-eval', which the UI's CSP refuses.
 */
interface PageGlobals {
  document: { querySelector(selector: string): { getAttribute(name: string): string | null; textContent: string | null } | null };
  location: { search: string };
}

describe('the web UI in Chromium', { skip }, () => {
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let demo: Demo;
  const dialogs: string[] = [];
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startUiServe();
    demo = demoAlerts();
    await server.post(demo.alerts);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  test('sign-in refuses a wrong token and accepts the analyzer\'s token', async () => {
    const res = await page.goto(server.url + '/');
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    await page.getByTestId('token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signin-error').waitFor();
    await page.getByTestId('token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('whoami').waitFor();
    assert.match(await page.getByTestId('whoami').textContent() ?? '', /generated \(read, write, ingest\)/);
    // The token is kept for this tab only, and never in the URL.
    assert.equal(await page.evaluate('sessionStorage.getItem("tiercel.token")'), server.token);
    assert.equal(await page.evaluate('localStorage.length'), 0);
    assert.ok(!page.url().includes(server.token));
  });

  test('the dashboard draws populated charts and breakdowns', async () => {
    await page.getByTestId('dashboard-ready').waitFor();
    const chart = page.getByTestId('timeline');
    const total = Number(await chart.getAttribute('data-total'));
    assert.equal(total, demo.alerts.length);
    assert.ok(Number(await chart.getAttribute('data-buckets')) > 10);
    assert.ok(await chart.locator('rect.bar').count() > 10, 'stacked bars drawn');
    assert.equal(await page.getByTestId('no-alerts').count(), 0);
    for (const id of ['by-rule', 'by-source', 'by-namespace', 'by-hostname', 'by-tag', 'by-priority']) {
      assert.ok(await page.getByTestId(id).locator('li').count() > 0, id);
    }
    assert.match(await page.getByTestId('by-rule').textContent() ?? '', /Drop and execute new binary in container/);
    assert.match(await page.getByTestId('by-namespace').textContent() ?? '', /shop/);
    await page.getByTestId('live-state').filter({ hasText: 'live' }).waitFor();
    await shot('dashboard');
  });

  test('a new alert appears in the live stream without a reload', async () => {
    const rule = `Live rule ${randomUUID().slice(0, 8)}`;
    await server.post([{ id: randomUUID(), time: iso(BigInt(Date.now()) * 1_000_000n), rule, priority: 'Error', source: 'syscall', tags: ['live'],
      output: `${rule} <img src=x onerror="window.__pwned=6">`, output_fields: { 'k8s.ns.name': 'live' }, hostname: 'node-live', correlation: {} }]);
    await page.getByTestId('live-alert').filter({ hasText: rule }).waitFor({ timeout: 10_000 });
    await shot('dashboard-live');
  });

  test('the range picker keeps the chart drawn, and an empty range says so', async () => {
    // 5 minutes in 5 s buckets; 30 days in 6 h buckets (docs/api.md).
    const buckets = async (): Promise<number> => Number(await page.getByTestId('timeline').getAttribute('data-buckets'));
    await page.getByTestId('range').selectOption('5m');
    await page.waitForURL(/since=5m/);
    await page.waitForFunction(() => Number((globalThis as unknown as PageGlobals).document.querySelector('[data-testid=timeline]')?.getAttribute('data-buckets')) <= 61);
    assert.ok(await buckets() >= 60);
    await page.getByTestId('range').selectOption('30d');
    await page.waitForURL(/since=30d/);
    await page.waitForFunction(() => Number((globalThis as unknown as PageGlobals).document.querySelector('[data-testid=timeline]')?.getAttribute('data-buckets')) >= 120);
    assert.equal(await page.getByTestId('timeline').locator('rect.zero').count(), await buckets(), 'every bucket drawn, empty ones too');
    assert.ok(await page.getByTestId('timeline').locator('rect.bar').count() > 0);
    await shot('dashboard-30d');
  });

  /** Waits until the table shows the answer to the current URL's filter. */
  const settled = async (): Promise<number> => {
    await page.waitForFunction(() => {
      const t = (globalThis as unknown as PageGlobals).document.querySelector('[data-testid=alerts-table]');
      return t !== null && t.getAttribute('data-loading') === 'false' && t.getAttribute('data-query') === (globalThis as unknown as PageGlobals).location.search;
    });
    return page.getByTestId('alert-row').count();
  };

  test('alerts filter by namespace, priority and literal text with special characters', async () => {
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    assert.equal(await settled(), 50, 'a full first page');
    await page.getByTestId('next-page').click();
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelector('.pager .muted')?.textContent === 'page 2');

    await page.getByTestId('filter-namespace').fill('shop');
    await page.waitForURL(/namespace=shop/);
    assert.equal(await settled(), 11, 'the exec session: 1 audit + 4 + a storm of 6');
    await page.getByTestId('filter-severity').selectOption('Critical');
    await page.waitForURL(/severity=Critical/);
    assert.equal(await settled(), 7);

    await page.goto(`${server.url}/ui/alerts`);
    await page.getByTestId('filter-q').fill(demo.special);
    await page.waitForURL(/q=/);
    assert.equal(await settled(), 1, `q=${demo.special}`);
    // `_` and `%` are literal: a pattern that LIKE would match finds nothing.
    await page.getByTestId('filter-q').fill('a-b_c_100');
    await page.waitForURL(/q=a-b_c_100/);
    assert.equal(await settled(), 0);
    await page.getByTestId('alerts-empty').waitFor();
    await page.getByTestId('filter-q').fill(demo.special);
    await page.waitForURL(/q=a-b.c_100%25/);
    assert.equal(await settled(), 1);
    await shot('alerts-filtered');

    await page.getByTestId('alert-row').first().getByRole('link').click();
    await page.getByTestId('alert-detail').waitFor();
    const detail = await page.getByTestId('alert-detail').textContent() ?? '';
    assert.match(detail, /fd\.name/);
    assert.ok(detail.includes(`/srv/${demo.special}/key`));
  });

  test('export as CSV neutralizes formulas; JSON holds the filter\'s alerts', async () => {
    await page.goto(`${server.url}/ui/alerts?namespace=csv`);
    assert.equal(await settled(), 1);
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csv = readFileSync((await csvDownload.path())!, 'utf8');
    const rows = csv.trimEnd().split('\r\n');
    assert.equal(rows.length, 2);
    assert.ok(rows[1]!.includes('"\'=HYPERLINK(""http://example.invalid"",""x"")"'), rows[1]);
    assert.ok(rows[1]!.includes('"\'-node"'), rows[1]);
    assert.ok(rows[1]!.includes('"\'@pod"'), rows[1]);
    assert.ok(rows[1]!.includes('"\'+cmd|\' /C calc\'!A0"'), rows[1]);
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
    const json = JSON.parse(readFileSync((await jsonDownload.path())!, 'utf8')) as { filter: Record<string, string>; alerts: { rule: string }[] };
    assert.deepEqual(json.filter, { namespace: 'csv' });
    assert.equal(json.alerts.length, 1);
    assert.equal(json.alerts[0]!.rule, '=HYPERLINK("http://example.invalid","x")');
  });

  test('an incident shows its audit + syscall timeline, process tree and links, and can be acknowledged', async () => {
    await page.getByRole('link', { name: 'Incidents', exact: true }).click();
    const row = page.getByTestId('incident-row').filter({ hasText: demo.execPod });
    await row.first().waitFor();
    assert.equal(await row.count(), 1, 'one incident for the exec session');
    assert.match(await row.textContent() ?? '', /alice/);
    await row.getByTestId('incident-link').click();
    await page.getByTestId('incident-detail').waitFor();
    const entries = page.getByTestId('timeline-entry');
    assert.ok(await entries.count() >= 5);
    assert.ok(await page.locator('[data-testid=timeline-entry][data-source=k8s_audit]').count() >= 1, 'audit evidence');
    assert.ok(await page.locator('[data-testid=timeline-entry][data-source=syscall]').count() >= 4, 'syscall evidence');
    assert.match(await page.getByTestId('storm').first().textContent() ?? '', /×/);
    // The tree: containerd-shim(4000) > sh(4100) > curl(4117), /tmp/x(4123) > nc(4131).
    const tree = page.getByTestId('process-tree');
    await tree.locator('[data-pid="4131"]').waitFor();
    assert.equal(await tree.locator('[data-pid="4000"] [data-pid="4100"] [data-pid="4123"] [data-pid="4131"]').count(), 1);
    assert.equal(await tree.locator('[data-pid="4100"] > ul > [data-pid="4117"]').count(), 1);
    assert.match(await tree.textContent() ?? '', /curl -so \/tmp\/x/);
    const links = await page.getByTestId('links').textContent() ?? '';
    assert.match(links, /audit_id/);
    assert.match(links, /exact/);
    await shot('incident');

    assert.equal(await page.getByTestId('incident-status').textContent(), 'open');
    await page.getByTestId('status-note').fill('paged <b>alice</b>');
    await page.getByTestId('acknowledge').click();
    await page.locator('[data-testid=incident-detail][data-status=acknowledged]').waitFor();
    const id = decodeURIComponent(page.url().split('/').pop()!);
    const res = await fetch(`${server.url}/api/v1/incidents/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${server.token}` } });
    const body = (await res.json()) as { incident: { status: string; status_note: string } };
    assert.equal(body.incident.status, 'acknowledged');
    assert.equal(body.incident.status_note, 'generated: paged <b>alice</b>');
    await shot('incident-acknowledged');
  });

  test('markup and script in pod names, rules, outputs and command lines are shown as text, never run', async () => {
    const visit = async (path: string, ready: string): Promise<void> => {
      await page.goto(server.url + path);
      await page.getByTestId(ready).first().waitFor();
    };
    await visit('/ui/alerts?namespace=evil', 'alert-row');
    assert.equal(await settled(), 3);
    const table = await page.getByTestId('alerts-table').textContent() ?? '';
    assert.ok(table.includes(EVIL.rule), 'the rule is shown as written');
    assert.ok(table.includes('<script>window.__pwned=2</script>'), 'the output is shown as written');
    await shot('injection-alerts');
    await page.getByTestId('alert-row').first().getByRole('link').click();
    await page.getByTestId('alert-detail').waitFor();
    const detail = await page.getByTestId('alert-detail').textContent() ?? '';
    for (const text of [EVIL.pod, EVIL.cmdline, EVIL.user]) assert.ok(detail.includes(text), text);
    await shot('injection-detail');

    await visit('/ui/incidents?q=evil', 'incidents-table');
    const evilRow = page.getByTestId('incident-row').first();
    await evilRow.waitFor();
    await evilRow.getByTestId('incident-link').click();
    await page.getByTestId('incident-detail').waitFor();
    await page.getByTestId('process-tree').locator('[data-pid]').first().waitFor();
    assert.ok((await page.getByTestId('process-tree').textContent() ?? '').includes(EVIL.cmdline));
    await shot('injection-incident');
    await visit('/ui/?since=1h', 'dashboard-ready');
    await page.getByTestId('live-state').filter({ hasText: 'live' }).waitFor();
    await server.post([{ id: randomUUID(), time: iso(BigInt(Date.now()) * 1_000_000n), rule: EVIL.rule, priority: 'Alert', source: 'syscall',
      tags: [], output: EVIL.output, output_fields: { 'k8s.pod.name': EVIL.pod }, hostname: 'node-1', correlation: {} }]);
    await page.getByTestId('live-alert').filter({ hasText: 'window.__pwned=2' }).waitFor({ timeout: 10_000 });
    await page.waitForTimeout(300);

    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
    assert.deepEqual(dialogs, []);
    assert.equal(await page.locator('img[src=x], svg[onload], script:not([src])').count(), 0, 'no hostile element in the DOM');
    assert.deepEqual(cspViolations, [], 'the UI itself runs under its policy');
    assert.deepEqual(pageErrors, []);
  });

  test('signing out forgets the token', async () => {
    await page.getByTestId('signout').click();
    await page.getByTestId('signin').waitFor();
    assert.equal(await page.evaluate('sessionStorage.getItem("tiercel.token")'), null);
    await page.reload();
    await page.getByTestId('signin').waitFor();
  });
});
