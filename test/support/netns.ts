/**
 * Network namespaces for tests that need real DHCP/TFTP clients: a server namespace and a client namespace joined
 * by a veth pair (PEERS.md §3). Names are unique per process; `destroy()` deletes both and kills every child started
 * through `spawnIn`. Needs root and iproute2: `requireTools` fails loudly (never skips) when they are missing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** Throws (so the test fails) when not root or a tool is missing from PATH. */
export function requireTools(...tools: string[]): void {
  if (process.getuid?.() !== 0) throw new Error('This test needs root (network namespaces, ports 67/69)');
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  const missing = tools.filter((t) => !dirs.some((d) => canExec(`${d}/${t}`)));
  if (missing.length > 0) throw new Error(`This test needs ${missing.join(', ')} (run npm run test:deps)`);
}

function canExec(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function sh(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
  ignoreErrors = false,
): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 20_000,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.input === undefined ? {} : { input: opts.input }),
    });
  } catch (e) {
    if (ignoreErrors) return '';
    throw e;
  }
}

export type NetnsPair = {
  srv: string;
  cli: string;
  /** Third namespace on the client's bridge (`withProxy`), interface `vprx`. */
  prx: string | undefined;
  /** Interface names inside the namespaces. */
  srvIf: 'vsrv';
  cliIf: 'vcli';
  /** Runs a command in a namespace and returns stdout. */
  exec(ns: string, cmd: string, args: string[], opts?: { timeoutMs?: number; input?: string }): string;
  /** Starts a long-running command in a namespace; killed by destroy(). */
  spawnIn(
    ns: string,
    cmd: string,
    args: string[],
    opts?: { env?: NodeJS.ProcessEnv },
  ): ChildProcess & { output(): string };
  destroy(): Promise<void>;
};

let counter = 0;

/**
 * Creates `g<tag><pid>s`/`…c` with 10.250.0.1/<prefix> on the server side (and fd00:250::1/64 for iPXE's IPv6
 * autoconf); the client side is unconfigured unless `clientMac` / `bridgeTaps` ask for more.
 */
export function createNetnsPair(
  tag: string,
  opts: { serverAddress?: string; clientMac?: string; bridgeTaps?: number; withProxy?: { address: string } } = {},
): NetnsPair {
  counter++;
  const base = `g${tag}${process.pid}x${counter}`;
  const srv = `${base}s`;
  const cli = `${base}c`;
  const prx = opts.withProxy === undefined ? undefined : `${base}p`;
  const children: ChildProcess[] = [];
  const ip = (...a: string[]) => sh('ip', a);
  ip('netns', 'add', srv);
  ip('netns', 'add', cli);
  try {
    ip('link', 'add', 'vsrv', 'netns', srv, 'type', 'veth', 'peer', 'name', 'vcli', 'netns', cli);
    ip('-n', srv, 'addr', 'add', opts.serverAddress ?? '10.250.0.1/24', 'dev', 'vsrv');
    ip('-n', srv, '-6', 'addr', 'add', 'fd00:250::1/64', 'dev', 'vsrv', 'nodad');
    ip('-n', srv, 'link', 'set', 'lo', 'up');
    ip('-n', srv, 'link', 'set', 'vsrv', 'up');
    ip('-n', cli, 'link', 'set', 'lo', 'up');
    if (opts.clientMac !== undefined) ip('-n', cli, 'link', 'set', 'vcli', 'address', opts.clientMac);
    if (opts.bridgeTaps !== undefined || prx !== undefined) {
      ip('-n', cli, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', cli, 'link', 'set', 'vcli', 'master', 'br0');
      if (prx !== undefined && opts.withProxy !== undefined) {
        ip('netns', 'add', prx);
        ip('link', 'add', 'vprx', 'netns', prx, 'type', 'veth', 'peer', 'name', 'vpb', 'netns', cli);
        ip('-n', prx, 'addr', 'add', opts.withProxy.address, 'dev', 'vprx');
        ip('-n', prx, 'link', 'set', 'lo', 'up');
        ip('-n', prx, 'link', 'set', 'vprx', 'up');
        ip('-n', cli, 'link', 'set', 'vpb', 'master', 'br0');
        ip('-n', cli, 'link', 'set', 'vpb', 'up');
      }
      for (let i = 0; i < (opts.bridgeTaps ?? 0); i++) {
        ip('-n', cli, 'tuntap', 'add', `tap${i}`, 'mode', 'tap');
        ip('-n', cli, 'link', 'set', `tap${i}`, 'master', 'br0');
        ip('-n', cli, 'link', 'set', `tap${i}`, 'up');
      }
      ip('-n', cli, 'link', 'set', 'br0', 'up');
    }
    ip('-n', cli, 'link', 'set', 'vcli', 'up');
  } catch (e) {
    for (const n of [srv, cli, prx]) if (n !== undefined) sh('ip', ['netns', 'del', n], {}, true);
    throw e;
  }
  return {
    srv,
    cli,
    prx,
    srvIf: 'vsrv',
    cliIf: 'vcli',
    exec(ns, cmd, args, o = {}) {
      return sh('ip', ['netns', 'exec', ns, cmd, ...args], o);
    },
    spawnIn(ns, cmd, args, o = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: o.env ?? process.env,
      });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      children.push(child);
      return Object.assign(child, { output: () => out });
    },
    async destroy() {
      for (const c of children) {
        if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
          c.kill('SIGTERM');
          await Promise.race([new Promise((r) => c.once('exit', r)), new Promise((r) => setTimeout(r, 2000))]);
          if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        }
      }
      for (const ns of [srv, cli, prx]) if (ns !== undefined) sh('ip', ['netns', 'del', ns], {}, true);
    },
  };
}

/** Polls `check` every 50 ms until it returns a value, or throws after `ms`. */
export async function waitFor<T>(what: string, ms: number, check: () => T | undefined | false): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
