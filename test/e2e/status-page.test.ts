/**
 * The status page in a real browser (Debian chromium via playwright-core) against the real HTTP server
 * and a controllable in-test daemon view: what a person sees, live updates, filters, the screenshot.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/daemon/http.js';
import type { DaemonHttpServer } from '../../src/daemon/http.js';
import { launchBrowser } from '../unit/http/browser.js';
import { FakeView, hostView } from '../unit/http/fake-view.js';


const now = Date.now();
const iso = (deltaMs: number): string => new Date(now + deltaMs).toISOString();
const REV_A = '4f1c2a9e7b3d5f60718293a4b5c6d7e8f9012345';
const REV_B = '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b';

function labView(): FakeView {
  const dc = (n: number): string => `r${n <= 3 ? 1 : 2}-n0${n}`;
  const view = new FakeView({
    sites: ['dc1', 'edge1'],
    desiredRevision: REV_B,
    appliedRevision: REV_A,
    invalidRevision: {
      revision: REV_B,
      diagnostics: [
        { file: 'hosts/r2-n05.yaml', line: 12, col: 7, severity: 'error', code: 'template-var', message: 'Template "ubuntu-base" uses "vars.rack" which host "r2-n05" does not set' },
      ],
    },
    lastPass: { id: 'p-17', startedAt: iso(-8_000), finishedAt: iso(-6_500), ok: true, trigger: 'watch' },
    lastSuccessfulPassAt: iso(-6_500),
    plan: { hosts: 7, actions: 2, disruptive: 1, waits: 1, blocked: 1, orphans: 0, byKind: { deploy: 1, 'power-on': 1 }, converged: false },
    hosts: [
      hostView(dc(1), 'dc1', 'deployed', {
        labels: { rack: 'r1', role: 'compute' },
        lastAction: { kind: 'deploy', id: 'a1', outcome: 'succeeded', at: iso(-300_000), message: 'deployed ubuntu/noble' },
      }),
      hostView(dc(2), 'dc1', 'deploying', {
        labels: { rack: 'r1', role: 'compute' },
        lastAction: { kind: 'deploy', id: 'a2', outcome: 'running', at: iso(-40_000) },
      }),
      hostView(dc(3), 'dc1', 'ready', {
        labels: { rack: 'r1', role: 'storage' },
        blocked: [{ kind: 'window', message: 'Outside maintenance window of policy "storage-nights"', policy: 'storage-nights', until: iso(6 * 3600_000) }],
      }),
      hostView(dc(4), 'dc1', 'failed', {
        labels: { rack: 'r2', role: 'compute' },
        observed: { lifecycle: 'failed', power: 'off', message: 'Deployment failed: curtin exited 3' },
        lastAction: { kind: 'deploy', id: 'a4', outcome: 'failed', at: iso(-90_000), message: 'Deployment failed: curtin exited 3' },
      }),
      hostView(dc(5), 'dc1', 'new', { labels: { rack: 'r2', role: 'compute' } }),
      hostView('edge1-a', 'edge1', 'deployed', { labels: { role: 'edge' } }),
      hostView('edge1-b', 'edge1', 'deployed', { labels: { role: 'edge' } }),
    ],
  });
  view.emit({ type: 'pass-started', at: iso(-8_000), pass: 'p-17', trigger: 'watch' });
  view.emit({ type: 'revision', at: iso(-7_900), revision: REV_B, valid: false, errors: 1 });
  view.emit({ type: 'action-started', at: iso(-7_000), pass: 'p-17', host: 'r1-n02', site: 'dc1', kind: 'deploy', actionId: 'a2' });
  view.emit({ type: 'pass-finished', at: iso(-6_500), pass: 'p-17', ok: true, durationMs: 1500, blocked: { window: 1 } });
  return view;
}

describe('status page in headless Chromium (chromium)', () => {
  let view: FakeView;
  let server: DaemonHttpServer;
  let base: string;
  let context: BrowserContext;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;

  beforeAll(async () => {
    view = labView();
    server = createHttpServer({ view, logger: pino({ level: 'silent' }) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  async function open(path = '/'): Promise<Page> {
    const page = await context.newPage();
    const external: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(base) && !req.url().startsWith('data:')) external.push(req.url());
    });
    await page.goto(`${base}${path}`);
    await page.locator('tr[data-host]').first().waitFor();
    expect(external, 'the page loads nothing from outside the daemon').toEqual([]);
    return page;
  }

  it('shows hosts grouped by site with lifecycle, power, last action, blocked reasons and revisions', async () => {
    const page = await open();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('Live');

    const dc1 = page.getByRole('region', { name: /^dc1/ });
    const edge = page.getByRole('region', { name: /^edge1/ });
    expect(await dc1.locator('tbody tr').count()).toBe(5);
    expect(await edge.locator('tbody tr').count()).toBe(2);
    const headers = await dc1.getByRole('columnheader').allTextContents();
    expect(headers).toEqual(['Host', 'Lifecycle', 'Power', 'Last action', 'Outcome', 'Blocked', 'Labels']);

    const failed = dc1.getByRole('row', { name: /r2-n04/ });
    expect(await failed.locator('td.lifecycle').textContent()).toBe('failed');
    expect(await failed.locator('td.outcome').textContent()).toBe('failed');
    expect(await failed.textContent()).toContain('curtin exited 3');
    const blocked = dc1.getByRole('row', { name: /r1-n03/ });
    expect(await blocked.locator('td.blocked').textContent()).toMatch(/window until .+Outside maintenance window/);
    expect(await blocked.locator('td.blocked time').getAttribute('datetime')).toBe(iso(6 * 3600_000));
    expect(await dc1.getByRole('row', { name: /r1-n01/ }).locator('td.power').textContent()).toBe('on');

    expect(await page.locator('#rev-desired').textContent()).toBe(REV_B.slice(0, 10));
    expect(await page.locator('#rev-applied').textContent()).toContain(REV_A.slice(0, 10));
    const alert = page.getByRole('alert');
    expect(await alert.textContent()).toContain('hosts/r2-n05.yaml:12:7');
    expect(await alert.textContent()).toContain('error[template-var]');
    expect(await page.getByRole('complementary', { name: 'Recent events' }).textContent()).toContain('r1-n02 deploy started');

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/status-page.png', fullPage: true });
    await page.close();
  });

  it('shows a lifecycle change live, without a reload', async () => {
    const page = await open();
    await expect.poll(() => page.locator('#conn').textContent()).toBe('Live');
    await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 42;
    });
    const row = page.locator('tr[data-host="r1-n02"]');
    expect(await row.locator('td.lifecycle').textContent()).toBe('deploying');
    // existing event items stay in place (only new ones are added, so they are announced once)
    await page.locator('#events li').first().evaluate((li) => li.setAttribute('data-seen', 'yes'));

    view.setLifecycle('r1-n02', 'deployed', 'on');
    await row.locator('td.lifecycle', { hasText: 'deployed' }).waitFor({ timeout: 3000 });
    expect(await row.locator('td.power').textContent()).toBe('on');
    expect(await page.locator('#events li').first().textContent()).toContain('r1-n02 is now deployed');
    expect(await page.locator('#events li').nth(1).getAttribute('data-seen')).toBe('yes');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    await page.close();
  });

  it('filters by lifecycle, site and label, keeping the filter in the address', async () => {
    const page = await open();
    const visibleHosts = (): Promise<string[]> => page.locator('tr[data-host]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-host') ?? ''));
    expect(await visibleHosts()).toHaveLength(7);

    await page.getByLabel('Lifecycle').selectOption('deployed');
    expect(await visibleHosts()).toEqual(['r1-n01', 'r1-n02', 'edge1-a', 'edge1-b']);
    expect(new URL(page.url()).searchParams.get('lifecycle')).toBe('deployed');
    expect(await page.locator('#shown').textContent()).toBe('Showing 4 of 7 hosts');

    await page.getByLabel('Site').selectOption('dc1');
    expect(await visibleHosts()).toEqual(['r1-n01', 'r1-n02']);
    expect(await page.getByRole('region', { name: /^edge1/ }).count()).toBe(0);

    await page.getByLabel('Lifecycle').selectOption('');
    await page.getByLabel('Labels').fill('rack=r2, role!=storage');
    expect(await visibleHosts()).toEqual(['r2-n04', 'r2-n05']);

    // a reload keeps the filters (query string)
    await page.reload();
    await page.locator('tr[data-host]').first().waitFor();
    expect(await visibleHosts()).toEqual(['r2-n04', 'r2-n05']);
    expect(await page.getByLabel('Labels').inputValue()).toBe('rack=r2, role!=storage');
    expect(await page.getByLabel('Site').inputValue()).toBe('dc1');

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(visibleHosts).toHaveLength(7);
    await page.close();
  });

  it('falls back to polling when server-sent events are unavailable', async () => {
    const page = await context.newPage();
    await page.addInitScript(() => {
      Reflect.deleteProperty(globalThis, 'EventSource');
    });
    await page.goto(`${base}/?site=edge1`);
    await page.locator('tr[data-host]').first().waitFor();
    await expect.poll(() => page.locator('#conn').textContent()).toMatch(/^Polling/);
    view.setLifecycle('edge1-b', 'releasing', 'on');
    await page.locator('tr[data-host="edge1-b"] td.lifecycle', { hasText: 'releasing' }).waitFor({ timeout: 8000 });
    await page.close();
  });
});
