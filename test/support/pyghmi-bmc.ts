/**
 * Test harness: pyghmi's BMC (Debian python3-pyghmi, `pyghmi.ipmi.bmc.Bmc`) on a free loopback UDP port, a second
 * independent IPMI implementation. User admin/secret; optional K_g. Every action it performs is appended to a state
 * file (`power on`, `power off`, `reset`, `shutdown`, `bootdev network`, ...). Stopped by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPorts, waitForBmcs } from './ipmi-sim.js';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/ipmi/fakebmc.py');
const PYTHON = '/usr/bin/python3';

export type PyghmiBmc = {
  port: number;
  pid: number;
  /** Actions the BMC performed, oldest first. */
  actions(): Promise<string[]>;
  clearActions(): Promise<void>;
  stop(): Promise<void>;
};

export async function startPyghmiBmc(opts: { kg?: string } = {}): Promise<PyghmiBmc> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: install python3-pyghmi (scripts/test-deps.sh)`);
  const dir = await mkdtemp(join(tmpdir(), `gough-pyghmi-${process.pid}-`));
  const state = join(dir, 'actions.log');
  await writeFile(state, '');
  const [port] = await freeUdpPorts(1);
  const args = [SCRIPT, String(port), state, ...(opts.kg ? [opts.kg] : [])];
  const child: ChildProcess = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  child.stdout?.resume();
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGKILL');
      });
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      waitForBmcs([port!], '127.0.0.1', 15_000),
      new Promise((_, rej) => child.once('exit', (code) => rej(new Error(`pyghmi BMC exited (${code}): ${stderr}`)))),
    ]);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    port: port!,
    pid: child.pid ?? -1,
    async actions() {
      return (await readFile(state, 'utf8')).split('\n').filter(Boolean);
    },
    async clearActions() {
      await writeFile(state, '');
    },
    stop,
  };
}
