import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootEvent, GateStore, createBootHttpServer } from '../../../src/drivers/pxe/index.js';
import type { DesiredHost } from '../../../src/model/index.js';
import { desired, host, site } from './fixture.js';

const W = mkdtempSync(join(tmpdir(), 'gough-http-'));
const S = site();
const HOSTS = desired(S, [host(1, { address: '10.250.0.11' }), host(2)]);
const byMac = new Map(HOSTS.map((d) => [d.host.spec.hardware.macs[0] as string, d]));
const n01 = HOSTS[0] as DesiredHost;
let server: Server;
let base: string;
let gate: GateStore;
let discover = false;
const events: BootEvent[] = [];

async function get(path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`${base}${path}`);
  return { status: r.status, body: await r.text() };
}

describe('boot HTTP server and gate (loopback)', () => {
  beforeAll(async () => {
    mkdirSync(join(W, 'files', 'ubuntu'), { recursive: true });
    writeFileSync(join(W, 'files', 'ubuntu', 'vmlinuz'), 'KERNEL');
    writeFileSync(join(W, 'secret'), 'outside');
    symlinkSync(join(W, 'secret'), join(W, 'files', 'escape'));
    gate = new GateStore(join(W, 'state', 'gate.json'));
    server = createBootHttpServer({
      catalog: {
        byMac: (m) => byMac.get(m),
        get discover() {
          return discover;
        },
      },
      gate,
      onEvent: (e) => events.push(e),
      filesDir: join(W, 'files'),
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('answers an unknown MAC with "no business booting"; with discovery on, records it', async () => {
    const r = await get('/boot/52:54:00:99:00:01.ipxe');
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^#!ipxe\n.*no install is planned for 52:54:00:99:00:01.*\nexit\n$/s);
    discover = true;
    const d = await get('/boot/52-54-00-99-00-02.ipxe');
    discover = false;
    expect(d.body).toContain('recorded for discovery');
    expect((await gate.read()).discovered['52:54:00:99:00:02']).toMatchObject({
      mac: '52:54:00:99:00:02',
      address: '127.0.0.1',
    });
    expect(events.filter((e) => e.kind === 'discovered').map((e) => e.mac)).toEqual(['52:54:00:99:00:02']);
  });

  it('a known host that is not armed gets no installer and no seed', async () => {
    expect((await get('/boot/52:54:00:25:00:01.ipxe')).body).toContain('no install is planned for edge1-n01');
    expect((await get('/cloud-init/52:54:00:25:00:01/user-data')).status).toBe(404);
    expect((await get('/cloud-init/52:54:00:25:00:01/done')).status).toBe(409);
  });

  it('armed: installer script, NoCloud seed; done marks it provisioned; then it boots from disk', async () => {
    await gate.arm('edge1-n01', { kind: 'deploy', specHash: n01.rendered.specHash, at: '2026-01-01T00:00:00.000Z' });
    const script = await get('/boot/52:54:00:25:00:01.ipxe');
    expect(script.body).toBe(n01.rendered.ipxeScript);
    expect(script.body).toContain('ds=nocloud-net;s=http://10.250.0.1:8081/cloud-init/52:54:00:25:00:01/');
    expect((await get('/cloud-init/52:54:00:25:00:01/user-data')).body).toBe(n01.rendered.userData);
    expect((await get('/cloud-init/52:54:00:25:00:01/meta-data')).body).toBe(n01.rendered.metaData);
    expect(await get('/cloud-init/52:54:00:25:00:01/vendor-data')).toEqual({ status: 200, body: '' });
    expect((await get('/boot/52:54:00:25:00:02.ipxe')).body).toContain('no install is planned for edge1-n02');
    expect((await get('/cloud-init/52:54:00:25:00:01/done')).status).toBe(200);
    expect((await gate.read()).hosts['edge1-n01']).toEqual({
      provisioned: { specHash: n01.rendered.specHash, at: expect.any(String) },
    });
    const again = await get('/boot/52:54:00:25:00:01.ipxe');
    expect(again.body).toContain('is provisioned, booting from local disk');
    expect(again.body).toContain('sanboot --no-describe --drive 0x80 || exit');
    expect((await get('/cloud-init/52:54:00:25:00:01/user-data')).status).toBe(404);
    expect(events.filter((e) => e.host === 'edge1-n01').map((e) => [e.kind, e.script ?? e.file ?? ''])).toEqual([
      ['script-fetch', 'no-business'],
      ['script-fetch', 'install'],
      ['cloud-init-fetch', 'user-data'],
      ['cloud-init-fetch', 'meta-data'],
      ['cloud-init-fetch', 'vendor-data'],
      ['install-complete', ''],
      ['script-fetch', 'local-disk'],
    ]);
  });

  it('serves installer files from the HTTP root, refusing traversal and symlink escapes', async () => {
    expect(await get('/ubuntu/vmlinuz')).toEqual({ status: 200, body: 'KERNEL' });
    expect((await get('/escape')).status).toBe(403);
    expect((await get('/ubuntu/..%2F..%2Fsecret')).status).toBe(403);
    expect((await get('/missing')).status).toBe(404);
    expect((await get('/boot/not-a-mac.ipxe')).status).toBe(400);
  });
});
