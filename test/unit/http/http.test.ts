import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../../src/daemon/http.js';
import type { DaemonHttpServer } from '../../../src/daemon/http.js';
import { FakeView, hostView } from './fake-view.js';
import { parsePrometheusText, seriesValue } from './prom-text.js';

const quiet = pino({ level: 'silent' });
const NOW = Date.parse('2026-11-23T12:00:00Z');
let open: DaemonHttpServer[] = [];

async function serve(view: FakeView, extra: Partial<Parameters<typeof createHttpServer>[0]> = {}): Promise<string> {
  const server = createHttpServer({ view, logger: quiet, now: () => NOW, ...extra });
  open.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await Promise.all(open.map((s) => new Promise<void>((r) => s.close(() => r()))));
  open = [];
});

function fleetView(): FakeView {
  return new FakeView({
    sites: ['dc1', 'edge1'],
    desiredRevision: 'b'.repeat(40),
    appliedRevision: 'a'.repeat(40),
    lastSuccessfulPassAt: new Date(NOW - 5_000).toISOString(),
    hosts: [
      hostView('r1-n01', 'dc1', 'deployed'),
      hostView('r1-n02', 'dc1', 'deploying'),
      hostView('r1-n03', 'dc1', 'ready', { blocked: [{ kind: 'window', message: 'outside window', until: '2026-11-24T02:00:00Z' }] }),
      hostView('e1-n01', 'edge1', 'deployed'),
    ],
  });
}

describe('createHttpServer', () => {
  it('is not listening when created', () => {
    const server = createHttpServer({ view: new FakeView(), logger: quiet });
    expect(server.listening).toBe(false);
    server.close();
  });

  it('answers /healthz while the process runs', async () => {
    const base = await serve(new FakeView());
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
  });

  it('is ready only when the last successful pass is recent', async () => {
    const view = new FakeView();
    const base = await serve(view, { readyMaxAgeMs: 60_000 });
    let res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('no successful pass yet');

    view.snap.lastSuccessfulPassAt = new Date(NOW - 30_000).toISOString();
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);

    view.snap.lastSuccessfulPassAt = new Date(NOW - 120_000).toISOString();
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('120 s ago');
  });

  it('serves the snapshot as JSON at /api/v1/status', async () => {
    const view = fleetView();
    const base = await serve(view);
    const res = await fetch(`${base}/api/v1/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { hosts: { host: string }[]; appliedRevision: string };
    expect(body.hosts.map((h) => h.host)).toEqual(['r1-n01', 'r1-n02', 'r1-n03', 'e1-n01']);
    expect(body.appliedRevision).toBe('a'.repeat(40));
  });

  it('passes webhook bodies byte for byte to the view and returns its answer', async () => {
    const view = new FakeView();
    view.webhookResult = { status: 401, body: 'bad signature' };
    const base = await serve(view);
    const payload = Buffer.from('{"ref":"refs/heads/main",  "x": "é"}');
    const res = await fetch(`${base}/webhooks/github`, {
      method: 'POST',
      headers: { 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': 'sha256=00', 'content-type': 'application/json' },
      body: payload,
    });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('bad signature\n');
    expect(view.webhooks).toHaveLength(1);
    expect(view.webhooks[0]?.body.equals(payload)).toBe(true);
    expect(view.webhooks[0]?.headers['x-github-event']).toBe('push');
    expect(view.webhooks[0]?.headers['x-hub-signature-256']).toBe('sha256=00');
  });

  it('refuses webhook bodies over the limit, declared or streamed', async () => {
    const view = new FakeView();
    const base = await serve(view, { webhookMaxBytes: 1024 });
    const res = await fetch(`${base}/webhooks/github`, { method: 'POST', body: Buffer.alloc(2048, 0x61) });
    expect(res.status).toBe(413);
    // chunked (no content-length): the limit is enforced while reading
    const { port } = new URL(base);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/webhooks/github', headers: { 'transfer-encoding': 'chunked' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 4; i++) req.write(Buffer.alloc(512, 0x62));
      req.end();
    });
    expect(status).toBe(413);
    expect(view.webhooks).toHaveLength(0);
  });

  it('allows only POST on the webhook and only GET elsewhere', async () => {
    const base = await serve(new FakeView());
    let res = await fetch(`${base}/webhooks/github`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    res = await fetch(`${base}/api/v1/status`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
  });

  it('serves the status page and its assets without external references', async () => {
    const base = await serve(fleetView());
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    for (const m of html.matchAll(/(?:href|src)="(\/[^"]*)"/g)) {
      const r = await fetch(`${base}${m[1]}`);
      expect(r.status, m[1]).toBe(200);
    }
    expect((await fetch(`${base}/ui/../../../etc/passwd`)).status).toBe(404);
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const { port } = new URL(base);
        request({ host: '127.0.0.1', port, path }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await raw('//example.com/')).toBe(404);
    expect(await raw('/ui/%2e%2e/http.ts')).toBe(404);
    expect(await raw('/ui/app.js')).toBe(200);
  });

  it('streams daemon events as server-sent events', async () => {
    const view = fleetView();
    const base = await serve(view);
    const ac = new AbortController();
    const res = await fetch(`${base}/events`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += dec.decode(value);
      }
    };
    await readUntil('retry:');
    view.setLifecycle('r1-n02', 'deployed', 'on');
    await readUntil('\n\n', );
    await readUntil('"lifecycle":"deployed"');
    expect(text).toMatch(/event: host-changed\ndata: \{.*"host":"r1-n02".*\}\n\n/);
    ac.abort();
  });

  it('closes cleanly with open event streams and stops following the view', async () => {
    const view = new FakeView();
    const server = createHttpServer({ view, logger: quiet });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/events`);
    expect(res.status).toBe(200);
    expect(view.listenerCount).toBe(2); // SSE fan-out + metrics
    await new Promise<void>((r) => server.close(() => r()));
    expect(view.listenerCount).toBe(0);
  });
});

describe('/metrics', () => {
  it('parses as Prometheus text and reports passes, actions, hosts, blocked actions and revisions', async () => {
    const view = fleetView();
    const registry = new Registry();
    const base = await serve(view, { registry });
    view.emit({ type: 'pass-started', at: '2026-11-23T11:59:00Z', pass: 'p1', trigger: 'watch' });
    view.emit({ type: 'action-started', at: '2026-11-23T11:59:01Z', pass: 'p1', host: 'r1-n02', site: 'dc1', kind: 'deploy', actionId: 'x1' });
    view.emit({
      type: 'action-finished',
      at: '2026-11-23T11:59:02Z',
      pass: 'p1',
      host: 'r1-n02',
      site: 'dc1',
      kind: 'deploy',
      actionId: 'x1',
      outcome: 'succeeded',
      message: 'deployed',
    });
    view.emit({
      type: 'action-finished',
      at: '2026-11-23T11:59:02Z',
      pass: 'p1',
      host: 'r1-n03',
      site: 'dc1',
      kind: 'power-on',
      actionId: 'x2',
      outcome: 'failed',
      message: 'label with "quotes" and \\ backslash',
    });
    view.emit({ type: 'pass-finished', at: '2026-11-23T11:59:03Z', pass: 'p1', ok: true, durationMs: 1500, blocked: { window: 2, approval: 1 } });
    view.emit({ type: 'pass-finished', at: '2026-11-23T11:59:04Z', pass: 'p2', ok: false, durationMs: 20, error: 'x', blocked: { window: 1 } });

    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const fams = parsePrometheusText(await res.text());

    expect(fams.get('gough_pass_duration_seconds')?.type).toBe('histogram');
    expect(seriesValue(fams, 'gough_pass_duration_seconds_count', { result: 'ok' })).toBe(1);
    expect(seriesValue(fams, 'gough_pass_duration_seconds_sum', { result: 'ok' })).toBe(1.5);
    expect(seriesValue(fams, 'gough_pass_duration_seconds_bucket', { result: 'ok', le: '1' })).toBe(0);
    expect(seriesValue(fams, 'gough_pass_duration_seconds_bucket', { result: 'ok', le: '2.5' })).toBe(1);
    expect(seriesValue(fams, 'gough_passes_total', { result: 'failed' })).toBe(1);
    expect(seriesValue(fams, 'gough_actions_total', { kind: 'deploy', outcome: 'succeeded' })).toBe(1);
    expect(seriesValue(fams, 'gough_actions_total', { kind: 'power-on', outcome: 'failed' })).toBe(1);
    expect(seriesValue(fams, 'gough_hosts', { site: 'dc1', lifecycle: 'deployed' })).toBe(1);
    expect(seriesValue(fams, 'gough_hosts', { site: 'dc1', lifecycle: 'deploying' })).toBe(1);
    expect(seriesValue(fams, 'gough_hosts', { site: 'edge1', lifecycle: 'deployed' })).toBe(1);
    expect(seriesValue(fams, 'gough_hosts', { site: 'edge1', lifecycle: 'failed' })).toBe(0);
    // the last pass's counts, not a sum over passes
    expect(seriesValue(fams, 'gough_blocked_actions', { reason: 'window' })).toBe(1);
    expect(seriesValue(fams, 'gough_blocked_actions', { reason: 'approval' })).toBe(0);
    expect(seriesValue(fams, 'gough_desired_revision_info', { revision: 'b'.repeat(40) })).toBe(1);
    expect(seriesValue(fams, 'gough_applied_revision_info', { revision: 'a'.repeat(40) })).toBe(1);
    expect(seriesValue(fams, 'gough_last_successful_pass_timestamp_seconds')).toBe((NOW - 5_000) / 1000);
    expect(seriesValue(fams, 'gough_invalid_revision')).toBe(0);
  });

  it('follows the snapshot at scrape time', async () => {
    const view = fleetView();
    const base = await serve(view);
    view.setLifecycle('r1-n02', 'failed');
    view.snap.appliedRevision = 'c'.repeat(40);
    view.snap.invalidRevision = { revision: 'd'.repeat(40), diagnostics: [] };
    const fams = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    expect(seriesValue(fams, 'gough_hosts', { site: 'dc1', lifecycle: 'failed' })).toBe(1);
    expect(seriesValue(fams, 'gough_hosts', { site: 'dc1', lifecycle: 'deploying' })).toBe(0);
    expect(seriesValue(fams, 'gough_applied_revision_info', { revision: 'a'.repeat(40) })).toBeUndefined();
    expect(seriesValue(fams, 'gough_applied_revision_info', { revision: 'c'.repeat(40) })).toBe(1);
    expect(seriesValue(fams, 'gough_invalid_revision')).toBe(1);
    // before any pass-finished event, blocked counts come from the snapshot's hosts
    expect(seriesValue(fams, 'gough_blocked_actions', { reason: 'window' })).toBe(1);
  });
});

describe('parsePrometheusText (the test parser is strict)', () => {
  it.each([
    ['bad name', '1abc 1\n'],
    ['bad value', 'abc one\n'],
    ['bad escape', 'abc{a="\\x"} 1\n'],
    ['no trailing newline', 'abc 1'],
    ['TYPE after samples', 'abc 1\n# TYPE abc counter\n'],
    ['duplicate series', 'abc{a="1"} 1\nabc{a="1"} 2\n'],
    ['interleaved families', 'a 1\nb 1\na{x="1"} 2\n'],
    ['histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['non-cumulative histogram', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
  ])('rejects %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
  it('accepts a valid exposition', () => {
    const f = parsePrometheusText('# HELP a An a\n# TYPE a gauge\na{x="q\\"\\\\\\n"} +Inf\n');
    expect(seriesValue(f, 'a', { x: 'q"\\\n' })).toBe(Number.POSITIVE_INFINITY);
  });
});
