/**
 * `npm run bench -- render`: renderHost on the example repository's templates (Kubernetes worker on MAAS, PostgreSQL,
 * edge node with the agent and iPXE installer), for 100,000 generated hosts each. Prints µs per host and hosts/s.
 */
import { resolve } from 'node:path';
import type { Host } from '../model/index.js';
import { renderHost } from '../render/index.js';
import { hasErrors, loadDirectory } from '../repo/index.js';
import { type Benchmark, measure, table } from './harness.js';

const HOSTS = 100_000;

function variant(h: Host, i: number): Host {
  const mac = `02:00:${[i >> 16, i >> 8, i].map((b) => (b & 255).toString(16).padStart(2, '0')).join(':')}`;
  return {
    ...h,
    metadata: { ...h.metadata, name: `${h.metadata.name}-${i}` },
    spec: { ...h.spec, hostname: `${h.metadata.name}-${i}`, hardware: { ...h.spec.hardware, macs: [mac], bootMac: mac } },
  };
}

export const benchmark: Benchmark = {
  name: 'render',
  title: `renderHost with the example-repo templates, ${HOSTS.toLocaleString('en')} hosts per template`,
  async run(print) {
    const { desired, diagnostics } = await loadDirectory(resolve(import.meta.dirname, '../../example-repo'));
    if (hasErrors(diagnostics)) throw new Error('example-repo has errors: run gough validate example-repo');
    const rows: (string | number)[][] = [];
    for (const sample of ['r1-n01', 'db-01', 'edge-01']) {
      const host = desired.hosts.find((h) => h.metadata.name === sample);
      if (host === undefined) throw new Error(`example host "${sample}" not found`);
      const site = desired.sites.find((s) => s.metadata.name === host.spec.site);
      const template = desired.templates.find((t) => t.metadata.name === host.spec.template);
      if (site === undefined) throw new Error(`site of "${sample}" not found`);
      (globalThis as { gc?: () => void }).gc?.();
      const hosts = Array.from({ length: HOSTS }, (_, i) => variant(host, i));
      let bytes = 0;
      const m = await measure(() => {
        for (const h of hosts) {
          const r = renderHost({ host: h, site, template, revision: 'bench' });
          if (!r.ok) throw new Error(JSON.stringify(r.errors));
          bytes += r.rendered.userData.length;
        }
      });
      rows.push([
        template?.metadata.name ?? '(none)',
        HOSTS,
        m.ms / 1000,
        (m.ms * 1000) / HOSTS,
        Math.round(HOSTS / (m.ms / 1000)),
        Math.round(bytes / HOSTS),
        m.peakRssMiB,
      ]);
    }
    for (const line of table(['template', 'hosts', 'seconds', 'µs/host', 'hosts/s', 'user-data bytes', 'peak RSS MiB'], rows)) {
      print(line);
    }
  },
};
