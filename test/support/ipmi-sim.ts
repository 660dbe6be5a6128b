/**
 * Test harness: N OpenIPMI `ipmi_sim` BMCs on free loopback UDP ports, each with a fresh state dir and the
 * `chassis_control` script of `test/fixtures/ipmi/chassis.sh`, which records every `set` the BMC performs to
 * `<dir>/state/actions.log` and keeps power in `<dir>/state/power`. Stopped by PID. Reusable by other modules
 * (PXE, lab): put a command line in `<dir>/on_cmd` (see `SimBmc.setOnCommand`) to start a "machine" on power on.
 *
 * Users: admin/secret (administrator), oper/opsecret (operator), viewer/vsecret (user).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/ipmi');

export type SimBmc = {
  name: string;
  address: string;
  port: number;
  dir: string;
  pid: number;
  /** The `set` commands the BMC ran, oldest first, e.g. `set power 1`, `set boot pxe`. */
  actions(): Promise<string[]>;
  /** Power as the BMC's chassis script sees it. */
  power(): Promise<'on' | 'off'>;
  /** Boot device the BMC last handed to the chassis script (`default` when never set). */
  boot(): Promise<string>;
  /** Presets power (without recording an action). */
  setPower(on: boolean): Promise<void>;
  /** Clears the action log. */
  clearActions(): Promise<void>;
  /** Command line started (setsid, in the background) on power on and killed on power off. */
  setOnCommand(cmd: string): Promise<void>;
};

export type IpmiSimFleet = { root: string; bmcs: SimBmc[]; stop(): Promise<void> };

/** Throws (fails the test) when a binary is missing: IPMI tests never skip. */
export function requireBinaries(...names: string[]): void {
  for (const n of names) {
    try {
      execFileSync('sh', ['-c', `command -v ${n}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`Required binary "${n}" is missing: install the Debian packages of scripts/test-deps.sh (openipmi, ipmitool, python3-pyghmi)`);
    }
  }
}

/** Distinct free UDP ports on 127.0.0.1 (bound together on port 0, then released). */
export async function freeUdpPorts(n: number, address = '127.0.0.1'): Promise<number[]> {
  const socks = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createSocket>>((res, rej) => {
          const s = createSocket('udp4');
          s.once('error', rej);
          s.bind(0, address, () => res(s));
        }),
    ),
  );
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Session-less Get Channel Authentication Capabilities (IPMI 1.5 framing), used as a readiness probe. */
function authCapProbe(seq: number): Buffer {
  const msg = [0x20, 0x18, 0xc8, 0x81, (seq & 0x3f) << 2, 0x38, 0x8e, 0x04];
  let sum = 0;
  for (let i = 3; i < msg.length; i++) sum = (sum + msg[i]!) & 0xff;
  msg.push((0x100 - sum) & 0xff);
  return Buffer.from([0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, msg.length, ...msg]);
}

/** Resolves when every port answers the probe; rejects after `timeoutMs`. */
export async function waitForBmcs(ports: number[], address = '127.0.0.1', timeoutMs = 10_000): Promise<void> {
  const pending = new Set(ports);
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  s.on('message', (_m, rinfo) => pending.delete(rinfo.port));
  s.on('error', () => undefined);
  const deadline = Date.now() + timeoutMs;
  try {
    while (pending.size > 0) {
      if (Date.now() > deadline) throw new Error(`BMCs on ports ${[...pending].join(', ')} did not start within ${timeoutMs} ms`);
      for (const p of pending) s.send(authCapProbe(1), p, address);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    s.close();
  }
}

function simBmc(name: string, address: string, port: number, dir: string, pid: number): SimBmc {
  const state = join(dir, 'state');
  return {
    name,
    address,
    port,
    dir,
    pid,
    async actions() {
      const text = await readFile(join(state, 'actions.log'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^\S+ /, ''));
    },
    async power() {
      const v = await readFile(join(state, 'power'), 'utf8').catch(() => '0');
      return v.trim() === '1' ? 'on' : 'off';
    },
    async boot() {
      return (await readFile(join(state, 'boot'), 'utf8').catch(() => 'default')).trim();
    },
    async setPower(on) {
      await writeFile(join(state, 'power'), on ? '1\n' : '0\n');
    },
    async clearActions() {
      await writeFile(join(state, 'actions.log'), '');
    },
    async setOnCommand(cmd) {
      await writeFile(join(dir, 'on_cmd'), `${cmd}\n`);
    },
  };
}

/**
 * Starts `n` ipmi_sim BMCs on 127.0.0.1 and waits until each answers. `bmcKey` sets K_g on every BMC.
 * Always call `stop()` (afterAll): it kills every ipmi_sim and "machine" process by PID and removes the dirs.
 */
export async function startIpmiSims(n: number, opts: { bmcKey?: string; address?: string } = {}): Promise<IpmiSimFleet> {
  requireBinaries('ipmi_sim');
  const address = opts.address ?? '127.0.0.1';
  const root = await mkdtemp(join(tmpdir(), `gough-ipmi-sim-${process.pid}-`));
  const tmpl = await readFile(join(FIXTURES, 'lan.conf.tmpl'), 'utf8');
  const ports = await freeUdpPorts(n, address);
  const children: ChildProcess[] = [];
  const bmcs: SimBmc[] = [];
  const stop = async () => {
    for (const b of bmcs) {
      const pidFile = join(b.dir, 'state', 'pid');
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        try {
          process.kill(pid);
        } catch {
          // machine already gone
        }
      }
    }
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null || c.signalCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGKILL');
          }),
      ),
    );
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < n; i++) {
      const port = ports[i]!;
      const name = `bmc${port}`;
      const dir = join(root, name);
      await mkdir(join(dir, 'sim-state'), { recursive: true });
      await mkdir(join(dir, 'state'), { recursive: true });
      await copyFile(join(FIXTURES, 'chassis.sh'), join(dir, 'chassis.sh'));
      await writeFile(join(dir, 'state', 'power'), '0\n');
      await writeFile(join(dir, 'state', 'actions.log'), '');
      const conf = tmpl
        .replaceAll('@ADDR@', address)
        .replaceAll('@PORT@', String(port))
        .replaceAll('@NAME@', name)
        .replaceAll('@DIR@', dir)
        .replaceAll('@BMCKEY@', opts.bmcKey ? `    bmc_key "${opts.bmcKey}"` : '');
      await writeFile(join(dir, 'lan.conf'), conf);
      const log = openSync(join(dir, 'ipmi_sim.log'), 'w');
      const child = spawn('ipmi_sim', ['-n', '-c', join(dir, 'lan.conf'), '-f', join(FIXTURES, 'bmc.emu'), '-s', join(dir, 'sim-state')], {
        stdio: ['ignore', log, log],
      });
      closeSync(log);
      children.push(child);
      child.on('error', () => undefined);
      bmcs.push(simBmc(name, address, port, dir, child.pid ?? -1));
    }
    await waitForBmcs(ports, address);
  } catch (e) {
    await stop();
    throw e;
  }
  return { root, bmcs, stop };
}
