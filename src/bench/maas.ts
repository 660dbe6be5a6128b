/**
 * `npm run bench -- maas`: observe 1,000 and 10,000 MAAS machines (one `GET machines/` + parse + map by MAC)
 * against the MAAS emulator running in a child process, so the RSS printed is the observer's own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { MaasClient, MaasProvisioner, mapObserved } from '../drivers/maas/index.js';
import { generateApiKey } from '../lab/index.js';
import type { DesiredHost, Host, Site } from '../model/index.js';
import { type Benchmark, measure, table } from './harness.js';

function hostsFor(n: number): Host[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const hex = i.toString(16).padStart(6, '0');
    const mac = `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
    return {
      apiVersion: 'gough.dev/v1',
      kind: 'Host',
      metadata: { name: `emu-${String(i).padStart(5, '0')}` },
      spec: { site: 'bench', hardware: { macs: [mac], arch: 'amd64', firmware: 'uefi' }, state: 'deployed', power: 'on' },
    } satisfies Host;
  });
}

/** Runs the emulator alone in a child process (only `lab/`, not the whole CLI), with machines emu-00001… deployed. */
async function startChild(n: number, apiKey: string): Promise<{ child: ChildProcess; url: string }> {
  const lab = new URL('../lab/index.js', import.meta.url).href;
  const script = `
    const { startMaasEmulator } = await import(${JSON.stringify(lab)});
    const n = ${n};
    const machines = Array.from({ length: n }, (_, k) => {
      const hex = (k + 1).toString(16).padStart(6, '0');
      return { hostname: 'emu-' + String(k + 1).padStart(5, '0'), macs: ['02:00:00:' + hex.slice(0, 2) + ':' + hex.slice(2, 4) + ':' + hex.slice(4, 6)], status: 'deployed' };
    });
    const emu = await startMaasEmulator({ port: 0, machines, apiKey: ${JSON.stringify(apiKey)} });
    process.stdout.write('listening on ' + emu.url + '\\n');
    process.once('SIGTERM', () => emu.close().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`MAAS emulator child exited with ${code}`)));
  });
  return { child, url };
}

export const benchmark: Benchmark = {
  name: 'maas',
  title: 'MAAS observe: one GET machines/ + parse + map by MAC (emulator in a child process)',
  async run(print) {
    const rows: (string | number)[][] = [];
    for (const n of [1000, 10_000]) {
      const apiKey = generateApiKey();
      const { child, url } = await startChild(n, apiKey);
      try {
        const site: Site = {
          apiVersion: 'gough.dev/v1',
          kind: 'Site',
          metadata: { name: 'bench' },
          spec: { provisioner: 'maas', maas: { url, apiKeyRef: { env: 'UNUSED' } } },
        };
        const desired: DesiredHost[] = hostsFor(n).map((host) => ({
          host,
          site,
          revision: 'bench',
          rendered: { host: host.metadata.name, os: { distro: 'ubuntu', series: 'jammy' }, userData: '', metaData: '', ipxeScript: '', kernelArgs: '', specHash: 'x' },
        }));
        const client = new MaasClient({ url, apiKey, timeoutMs: 300_000 });
        const p = new MaasProvisioner({ client, site });
        (globalThis as { gc?: () => void }).gc?.();
        const cold = await measure(() => p.observe(desired));
        const warm = await measure(() => p.observe(desired));
        const mapped = warm.value.filter((o) => o.lifecycle === 'deployed').length;
        // The same pass split: list + parse (HTTP, JSON, typed view), then the pure MAC mapping.
        const list = await measure(() => client.listMachines());
        const hosts = desired.map((d) => d.host);
        const map = await measure(() => mapObserved(hosts, list.value, 'bench'));
        const bytes = (await (await fetch(`${url.replace(/\/MAAS$/, '')}/_emulator/machines`)).text()).length;
        rows.push([
          n,
          mapped,
          Math.round(cold.ms),
          Math.round(warm.ms),
          Math.round(list.ms),
          Math.round(map.ms),
          (bytes / 2 ** 20).toFixed(1),
          Math.round(Math.max(cold.peakRssMiB, warm.peakRssMiB, list.peakRssMiB)),
        ]);
      } finally {
        child.kill('SIGTERM');
      }
    }
    const head = ['machines', 'mapped', 'first observe ms', 'second observe ms', 'list+parse ms', 'map ms', '≈ list JSON MiB', 'observer peak RSS MiB'];
    for (const line of table(head, rows)) print(line);
    print('');
    print('First observe includes the emulator rendering every machine once; the second reuses its cached JSON.');
  },
};
