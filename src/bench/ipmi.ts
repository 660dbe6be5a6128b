/**
 * `npm run bench -- ipmi`: power status of 100 and 500 `ipmi_sim` BMCs (Debian openipmi), Gough's native RMCP+
 * client vs one `ipmitool -I lanplus -C 3` process per BMC. Same BMCs, same run, 16 at a time for both. Each
 * Gough call is a full session (login, Get Chassis Status, Close Session), as each ipmitool process does.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { IpmiPowerDriver, IpmiSession, getChassisStatus } from '../drivers/ipmi/index.js';
import type { Bmc } from '../model/index.js';
import { type Benchmark, measure, table } from './harness.js';

const run = promisify(execFile);
const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/ipmi');
const PARALLEL = 16;

type Sims = { ports: number[]; stop(): Promise<void> };

async function freePorts(n: number): Promise<number[]> {
  const socks = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createSocket>>((r) => {
      const s = createSocket('udp4');
      s.bind(0, '127.0.0.1', () => r(s));
    })),
  );
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

async function startSims(n: number): Promise<Sims> {
  const root = await mkdtemp(join(tmpdir(), `gough-bench-ipmi-${process.pid}-`));
  const tmpl = await readFile(join(FIXTURES, 'lan.conf.tmpl'), 'utf8');
  const ports = await freePorts(n);
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map((c) => new Promise<void>((r) => {
        if (c.exitCode !== null || c.signalCode !== null) return r();
        c.once('exit', () => r());
        c.kill('SIGKILL');
      })),
    );
    await rm(root, { recursive: true, force: true });
  };
  for (const [i, port] of ports.entries()) {
    const dir = join(root, `b${port}`);
    await mkdir(join(dir, 'sim-state'), { recursive: true });
    await mkdir(join(dir, 'state'), { recursive: true });
    await copyFile(join(FIXTURES, 'chassis.sh'), join(dir, 'chassis.sh'));
    await writeFile(join(dir, 'state', 'power'), i % 2 === 0 ? '1\n' : '0\n');
    const conf = tmpl.replaceAll('@ADDR@', '127.0.0.1').replaceAll('@PORT@', String(port)).replaceAll('@NAME@', `b${port}`).replaceAll('@DIR@', dir).replaceAll('@BMCKEY@', '');
    await writeFile(join(dir, 'lan.conf'), conf);
    const log = openSync(join(dir, 'ipmi_sim.log'), 'w');
    const c = spawn('ipmi_sim', ['-n', '-c', join(dir, 'lan.conf'), '-f', join(FIXTURES, 'bmc.emu'), '-s', join(dir, 'sim-state')], { stdio: ['ignore', log, log] });
    closeSync(log);
    c.on('error', () => undefined);
    children.push(c);
  }
  // wait until every BMC answers a login
  const deadline = Date.now() + 30_000;
  await pool(ports, PARALLEL, async (port) => {
    for (;;) {
      try {
        const s = await IpmiSession.open({ host: '127.0.0.1', port, username: 'admin', password: 'secret', timeoutMs: 200, retries: 0 });
        await s.close();
        return '';
      } catch (e) {
        if (Date.now() > deadline) {
          await stop();
          throw e;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  return { ports, stop };
}

async function pool<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

async function goughStatus(port: number): Promise<string> {
  const s = await IpmiSession.open({ host: '127.0.0.1', port, username: 'admin', password: 'secret', cipher: 3 });
  try {
    return (await getChassisStatus(s)).power;
  } finally {
    await s.close();
  }
}

async function ipmitoolStatus(port: number): Promise<string> {
  const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(port), '-U', 'admin', '-P', 'secret', 'chassis', 'power', 'status']);
  const m = /Chassis Power is (on|off)/.exec(stdout);
  if (!m) throw new Error(`ipmitool said: ${stdout.trim()}`);
  return m[1]!;
}

export const benchmark: Benchmark = {
  name: 'ipmi',
  title: 'power status of N ipmi_sim BMCs: native RMCP+ client vs one ipmitool -C 3 process per BMC (16 at a time)',
  async run(print) {
    const rows: (string | number)[][] = [];
    for (const n of [100, 500]) {
      const sims = await startSims(n);
      try {
        // Gough is cheap to repeat: median of 3 passes, so one load spike on a shared machine does not decide the figure
        const passes = [];
        for (let k = 0; k < 3; k++) passes.push(await measure(() => pool(sims.ports, PARALLEL, goughStatus)));
        passes.sort((x, y) => x.ms - y.ms);
        const g = passes[1]!;
        const t = await measure(() => pool(sims.ports, PARALLEL, ipmitoolStatus));
        const agree = g.value.every((v, i) => v === t.value[i] && v === (i % 2 === 0 ? 'on' : 'off'));
        if (!agree) throw new Error('Gough and ipmitool disagree about power states');
        // the driver keeps one session per BMC: a second pass is what a reconciler's observe costs
        const driver = new IpmiPowerDriver(async () => 'secret', { cipher: 3 });
        const bmc = (port: number): Bmc => ({ driver: 'ipmi', address: '127.0.0.1', port, credentialsRef: { env: 'UNUSED' } });
        await pool(sims.ports, PARALLEL, (p) => driver.status(bmc(p)));
        const w = await measure(() => pool(sims.ports, PARALLEL, (p) => driver.status(bmc(p))));
        await driver.close();
        rows.push([n, g.ms, g.ms / n, w.ms, t.ms, t.ms / n, `${(t.ms / g.ms).toFixed(1)}×`]);
      } finally {
        await sims.stop();
      }
    }
    for (const l of table(['BMCs', 'Gough ms', 'Gough ms/BMC', 'Gough cached sessions ms', 'ipmitool ms', 'ipmitool ms/BMC', 'ratio (full sessions)'], rows)) print(l);
    print('');
    print('Both clients saw the same power state on every BMC (half on, half off). Gough: median of 3 passes. Target ratio ≥ 10×.');
    print(`Load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (figures on a busy machine are noisy)`);
  },
};
