/**
 * `npm run bench -- pxe`: Gough's DHCP against dnsmasq (Kea's perfdhcp at increasing rates, same namespaces) and
 * Gough's TFTP against tftpd-hpa (100 concurrent atftp clients fetching 1 MiB). Needs root and the Debian packages
 * kea-admin, dnsmasq, tftpd-hpa, atftp, iproute2, util-linux (taskset, flock). Figures are printed, never asserted.
 *
 * The TFTP ratio is measured **pinned**: the 100 clients on CPU 0, the server under test (either one) alone on CPU 1
 * at nice -10. That models production, where the clients are other machines and never take CPU from the server, and
 * gives both servers the same CPU budget however many processes (tftpd-hpa forks one per transfer) or threads (Gough:
 * one worker per available core, so one) they run. The clients cost as little as they can for the same reason: they
 * start behind a gate (the clock runs from its opening to the last client's exit), all in one session (one scheduler
 * autogroup, at nice -10 too), writing to /dev/null (the warm-up fetches of each server start are checked byte for
 * byte). The old **shared** placement (everything on both cores) is printed as well. `GOUGH_BENCH_PXE_TFTP_CPU`
 * picks either. Rounds where other jobs on the machine took CPU are marked.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DesiredHost, Host, Site } from '../model/index.js';
import { renderHost } from '../render/index.js';
import { type Benchmark, table } from './harness.js';

const PXE_INDEX = fileURLToPath(new URL('../drivers/pxe/index.js', import.meta.url));
const RATES = (process.env.GOUGH_BENCH_PXE_RATES ?? '100,250,500,1000,2000,4000').split(',').map(Number);
const SECONDS = 3;
const CLIENTS = 100;
/** `GOUGH_BENCH_PXE=tftp` (or any of dhcp,tftp,vms, comma-separated) runs only those parts; default all. */
const PARTS = new Set((process.env.GOUGH_BENCH_PXE ?? 'dhcp,tftp,vms').split(',').map((x) => x.trim()));
/**
 * Rounds of the TFTP comparison (each round runs both servers, alternating which goes first); default 3, since one
 * round's ratio swings by ±15 % and more on a virtual machine: the median of the rounds is the figure.
 */
const TFTP_ROUNDS = Math.max(1, Number(process.env.GOUGH_BENCH_PXE_TFTP_ROUNDS ?? 3) || 1);

type Ns = { srv: string; cli: string; children: ChildProcess[] };

function sh(cmd: string, args: string[], timeoutMs = 60_000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

function netns(): Ns {
  const base = `gbench${process.pid}`;
  const ns: Ns = { srv: `${base}s`, cli: `${base}c`, children: [] };
  sh('ip', ['netns', 'add', ns.srv]);
  sh('ip', ['netns', 'add', ns.cli]);
  sh('ip', ['link', 'add', 'vsrv', 'netns', ns.srv, 'type', 'veth', 'peer', 'name', 'vcli', 'netns', ns.cli]);
  sh('ip', ['-n', ns.srv, 'addr', 'add', '10.250.0.1/16', 'dev', 'vsrv']);
  sh('ip', ['-n', ns.cli, 'addr', 'add', '10.250.0.2/16', 'dev', 'vcli']);
  for (const [n, i] of [
    [ns.srv, 'vsrv'],
    [ns.cli, 'vcli'],
  ] as const) {
    sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', n, 'link', 'set', i, 'up']);
  }
  return ns;
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * Sets PINNED_NICE on the scheduler autogroup of `pid`, a session leader started `detached`. Where autogroups are on,
 * `nice` counts only inside a group: against other sessions' jobs the whole group competes.
 */
function setAutogroupNice(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(PINNED_NICE));
  } catch {
    // no autogroups in this kernel: the tasks' nice level is all there is
  }
}

/**
 * A Gough server in the server namespace: `code` (with `p` = the PXE module) binds `s`; prints READY, stops on SIGTERM.
 * `cpus`: runs it under `taskset -c` at nice PINNED_NICE (see TFTP_CPU).
 */
function startGough(ns: Ns, code: string, cpus?: string): ChildProcess & { out: () => string } {
  return start(
    ns,
    ns.srv,
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import * as p from ${JSON.stringify(PXE_INDEX)};
     ${code}
     console.log('READY'); process.on('SIGTERM', async () => { await s.close(); process.exit(0); });`,
    ],
    cpus,
  );
}

function start(
  ns: Ns,
  where: string,
  cmd: string,
  args: string[],
  cpus?: string,
): ChildProcess & { out: () => string } {
  const argv = ['netns', 'exec', where, cmd, ...args];
  const c =
    cpus === undefined
      ? spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('nice', ['-n', String(PINNED_NICE), 'taskset', '-c', cpus, 'ip', ...argv], {
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
  if (cpus !== undefined && c.pid !== undefined) setAutogroupNice(c.pid);
  let out = '';
  c.stdout?.on('data', (d: Buffer) => {
    out += d;
  });
  c.stderr?.on('data', (d: Buffer) => {
    out += d;
  });
  ns.children.push(c);
  return Object.assign(c, { out: () => out });
}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Perf = { rate: number; sent: number; received: number; drops: number; perSecond: number; avgMs: number };

/** Runs a command without blocking the event loop (server output pipes must keep draining). */
function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (_e, stdout) => resolve(stdout));
  });
}

async function perfdhcp(ns: Ns, rate: number): Promise<Perf> {
  // perfdhcp exits 3 when packets were dropped; its statistics are on stdout either way.
  const text = await run('ip', [
    'netns',
    'exec',
    ns.cli,
    'perfdhcp',
    '-4',
    '-l',
    'vcli',
    '-r',
    String(rate),
    '-R',
    '1000000',
    '-p',
    String(SECONDS),
    '-W',
    '1000000',
    '10.250.0.1',
  ]);
  const block = text.split('***Statistics for: REQUEST-ACK***')[1] ?? '';
  const num = (re: RegExp, s: string) => Number(re.exec(s)?.[1] ?? Number.NaN);
  const sentDo = num(/sent packets: (\d+)/, text);
  const recvDo = num(/received packets: (\d+)/, text);
  const sent = num(/sent packets: (\d+)/, block);
  const received = num(/received packets: (\d+)/, block);
  return {
    rate,
    sent,
    received,
    drops: sentDo - recvDo + (sent - received),
    perSecond: received / SECONDS,
    avgMs: num(/avg delay: ([\d.]+) ms/, block),
  };
}

async function dhcpRound(ns: Ns, w: string, server: 'gough' | 'dnsmasq'): Promise<Perf[]> {
  const out: Perf[] = [];
  for (const rate of RATES) {
    // A fresh server per rate: empty lease table, same starting point for both.
    rmSync(join(w, 'leases'), { recursive: true, force: true });
    execFileSync('mkdir', ['-p', join(w, 'leases')]);
    const c =
      server === 'gough'
        ? startGough(
            ns,
            `const r = new p.DhcpResponder({ mode: 'dhcp', serverId: '10.250.0.1', subnet: '10.250.0.0/16', router: '10.250.0.1',
               dns: ['10.250.0.1'], range: { start: '10.250.1.0', end: '10.250.255.254' }, leaseSeconds: 3600, httpPort: 8081, discover: true, hosts: [] });
             const s = await p.DhcpServer.listen({ responder: r, leases: new p.LeaseFile(${JSON.stringify(join(w, 'leases', 'gough.json'))}) });`,
          )
        : start(ns, ns.srv, 'dnsmasq', [
            `--conf-file=${join(w, 'dnsmasq.conf')}`,
            '--keep-in-foreground',
            `--pid-file=${join(w, 'dnsmasq.pid')}`,
          ]);
    await until(`${server} to start`, 10_000, () => /READY|started, version/.test(c.out()));
    // Warm-up (ARP for the relay address, JIT): not measured.
    await run('ip', [
      'netns',
      'exec',
      ns.cli,
      'perfdhcp',
      '-4',
      '-l',
      'vcli',
      '-r',
      '100',
      '-R',
      '1000000',
      '-p',
      '1',
      '10.250.0.1',
    ]);
    const r = await perfdhcp(ns, rate);
    out.push(r);
    await stop(c);
    if (r.received === 0)
      process.stderr.write(`${server} answered nothing at ${rate}/s; its output:\n${c.out().slice(-2000)}\n`);
  }
  return out;
}

/**
 * Starts the clients of a round: one `sh` starts them all and reports how many failed, so they are all in its session
 * (see `tftpRound`).
 */
const CLIENT_LAUNCHER = `n=$1; gate=$2; ns=$3; out=$4; shift 4
pids=; i=0
while [ "$i" -lt "$n" ]; do
  if [ "$out" = - ]; then o=/dev/null; else o="$out/f$i"; fi
  ip netns exec "$ns" flock -s "$gate" atftp "$@" -g -r file.bin -l "$o" 10.250.0.1 >/dev/null 2>&1 &
  pids="$pids $!"; i=$((i + 1))
done
failed=0
for p in $pids; do wait "$p" || failed=$((failed + 1)); done
echo "failed $failed"`;

/** A child's stdout so far, and its exit. */
function watch(c: ChildProcess): { out: () => string; exited: Promise<void>; gone: () => boolean } {
  let out = '';
  let gone = false;
  c.stdout?.on('data', (d: Buffer) => {
    out += d;
  });
  const exited = new Promise<void>((resolve) =>
    c.once('exit', () => {
      gone = true;
      resolve();
    }),
  );
  return { out: () => out, exited, gone: () => gone };
}

type RoundOptions = {
  /** Default CLIENTS. */
  clients?: number;
  /** The clients' session is a new one, its autogroup at PINNED_NICE (pinned mode); else the bench's. */
  own?: boolean;
  /** Runs just before the gate opens (samples CPU counters). */
  atRelease?: () => void;
  /** Where the clients write `f0`, `f1`, … (for the warm-up to check); default /dev/null. */
  outDir?: string;
};

/**
 * Fetches `file.bin` with concurrent atftp clients; returns the wall ms from their release to the last exit.
 *
 * - The clients start behind a gate (`flock -s` on a file this process holds locked), so the measured time is the
 *   transfers alone, all of them concurrent: spawning 100 `ip netns exec` is CPU 0's heaviest work otherwise, and
 *   the clients would start one after another over most of a second.
 * - They run in one session (see `own`), not one session each: 100 autogroups on the clients' CPU add scheduling
 *   work to every wake-up of a client, the same for either server, to a side that stands for other machines and
 *   costs a real server nothing.
 * - They write to /dev/null unless `outDir` is given.
 */
async function tftpRound(ns: Ns, w: string, options: string[], round: RoundOptions = {}): Promise<number> {
  const { clients = CLIENTS, own = false, atRelease, outDir } = round;
  const gate = join(w, 'gate');
  writeFileSync(gate, '');
  const holder = await holdLock(gate);
  const c = spawn(
    'sh',
    [
      '-c',
      CLIENT_LAUNCHER,
      'launcher',
      String(clients),
      gate,
      ns.cli,
      outDir ?? '-',
      ...options.flatMap((o) => ['--option', o]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: own },
  );
  if (own && c.pid !== undefined) setAutogroupNice(c.pid);
  const launcher = watch(c);
  try {
    const ready = () => launcher.gone() || waitingOn(gate) >= clients;
    await until(`${clients} TFTP clients to wait at the gate`, 30_000, ready);
    if (launcher.gone()) {
      throw new Error(`The TFTP clients ended before the gate opened: ${launcher.out().trim() || 'no output'}`);
    }
  } catch (e) {
    holder.release();
    await launcher.exited;
    throw e;
  }
  atRelease?.();
  const t0 = performance.now();
  holder.release();
  await launcher.exited;
  const ms = performance.now() - t0;
  const failed = Number(/failed (\d+)/.exec(launcher.out())?.[1] ?? clients);
  if (failed > 0) throw new Error(`${failed} of ${clients} TFTP clients failed`);
  return ms;
}

/** Takes an exclusive `flock` on `file` (util-linux `flock`, held by a child); `release` lets it go. */
async function holdLock(file: string): Promise<{ release: () => void }> {
  const c = spawn('flock', ['-x', file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const holder = watch(c);
  await until('the TFTP client gate', 10_000, () => holder.gone() || holder.out().includes('locked'));
  if (!holder.out().includes('locked')) throw new Error(`Could not lock the TFTP client gate "${file}"`);
  return { release: () => c.stdin?.end() };
}

/** Lock requests blocked on `file` (`/proc/locks` lists each waiter with "->"). */
function waitingOn(file: string): number {
  const suffix = `:${statSync(file).ino} `;
  const lines = readFileSync('/proc/locks', 'utf8').split('\n');
  return lines.filter((line) => line.includes('->') && line.includes(suffix)).length;
}

const TFTP_OPTIONS: Record<string, string[]> = { 'blksize 1468': ['blksize 1468'], 'no options (512 B)': [] };
const TFTP_BLKSIZE: Record<string, number> = { 'blksize 1468': 1468, 'no options (512 B)': 512 };
const FILE_BYTES = 1024 * 1024;

/**
 * Where the TFTP comparison runs, `GOUGH_BENCH_PXE_TFTP_CPU` (comma-separated, default both):
 * - `pinned` (the ratio): the 100 clients (and this process, which starts them) on CPU 0, the server under test on
 *   CPU 1 (`taskset`, inherited by tftpd-hpa's forked children and by Gough's worker threads; Gough's default worker
 *   count follows the affinity mask, so 1), at nice -10 (PINNED_NICE). In production the clients are other machines:
 *   they never take CPU from the server, and each server gets the same CPU budget however many processes or threads
 *   it runs. The clients' CPU is then often the limit (100 atftp processes on one core): the servers' own CPU per
 *   DATA/ACK exchange (cgroup) is printed beside the throughput.
 * - `shared`: no pinning; clients and server share every core (the scheduler's share of a 100-process tftpd-hpa
 *   against Gough's few threads decides much of it).
 */
const TFTP_CPU = (process.env.GOUGH_BENCH_PXE_TFTP_CPU || 'pinned,shared')
  .split(',')
  .map((x) => x.trim())
  .filter((x): x is 'pinned' | 'shared' => x === 'pinned' || x === 'shared');
const CLIENT_CPU = '0';
/**
 * Pinned servers (both) run at this nice level: alone on their CPU they compete with nothing of the bench, and other
 * jobs on the machine take less of it (a 100-process tftpd-hpa would otherwise out-weigh them where Gough's one
 * thread does not).
 */
const PINNED_NICE = -10;
/** Rounds where other jobs took more than this share of one CPU are reported but left out of the ratio's median. */
const OTHER_MAX = 0.1;
const SERVER_CPU = '1';

type TftpServerName = 'gough' | 'hpa';
type CpuMode = 'pinned' | 'shared';

/** Busy and total jiffies per CPU (`/proc/stat`). */
function cpuTimes(): { busy: number; total: number }[] {
  const out: { busy: number; total: number }[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (m === null) continue;
    const v = (m[2] ?? '').trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    out[Number(m[1])] = { busy: total - idle, total };
  }
  return out;
}

/**
 * CPU ms of every process that is neither this process's descendant nor a kernel thread, with their reaped children
 * (`/proc/<pid>/stat`: utime, stime, cutime, cstime), keyed by pid and start time: other jobs on the machine.
 */
function othersMs(): Map<string, number> {
  const procs = new Map<number, { ppid: number; key: string; ms: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // exited
    }
    // After "pid (comm) ": state is field 0, ppid 1; utime, stime, cutime, cstime 11–14; starttime 19 (USER_HZ 100).
    const f = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    const ms = [11, 12, 13, 14].reduce((a, i) => a + Number(f[i] ?? 0), 0) * 10;
    procs.set(Number(d), { ppid: Number(f[1]), key: `${d}@${f[19]}`, ms });
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, n = 0; p > 1 && n < 64; n++) {
      if (p === process.pid || p === 2) return true;
      p = procs.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const out = new Map<string, number>();
  for (const [pid, x] of procs) if (!ours(pid)) out.set(x.key, x.ms);
  return out;
}

/**
 * CPU ms other jobs used between two `othersMs()` samples `wallMs` apart. A process that reaped a long-lived child
 * counts at most `wallMs` per CPU (the child's earlier CPU time is not this round's).
 */
function othersDelta(a: Map<string, number>, b: Map<string, number>, wallMs: number, cpus: number): number {
  let ms = 0;
  for (const [k, v] of b) ms += Math.min(v - (a.get(k) ?? 0), wallMs * cpus);
  return ms;
}

/** Per-CPU busy share (0–1) between two `cpuTimes()` samples. */
function busyShare(a: { busy: number; total: number }[], b: { busy: number; total: number }[]): number[] {
  return b.map((x, i) => {
    const y = a[i] ?? { busy: 0, total: 0 };
    return x.total > y.total ? (x.busy - y.busy) / (x.total - y.total) : 0;
  });
}

/** Pins this process (all its threads; the clients it spawns inherit it) to `cpus`; returns what undoes it. */
function pinSelf(cpus: string): () => void {
  const before = /: ([0-9a-f,]+)\s*$/.exec(sh('taskset', ['-p', String(process.pid)]))?.[1];
  sh('taskset', ['-a', '-p', '-c', cpus, String(process.pid)]);
  return () => {
    if (before !== undefined) sh('taskset', ['-a', '-p', before, String(process.pid)]);
  };
}

/**
 * A cgroup (v1 cpuacct) holding the server under test, so its CPU time is its own: tftpd-hpa's forked children are
 * in it, and so is every thread of Gough's. Undefined where there is no cgroup v1 cpuacct hierarchy.
 */
const CPUACCT = '/sys/fs/cgroup/cpuacct';
function serverCgroup(): { dir: string; usage: () => number; add: (pid: number) => void; remove: () => void } | undefined {
  if (!existsSync(join(CPUACCT, 'cpuacct.usage'))) return undefined;
  const dir = join(CPUACCT, `gough-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    usage: () => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e6,
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // still has a task (a server that did not stop): left for the next run's error
      }
    },
  };
}

/** Starts one TFTP server on 10.250.0.1:69 in the server namespace; returns once it has served the warm-up fetches. */
async function tftpServer(
  ns: Ns,
  w: string,
  server: TftpServerName,
  cpus: string | undefined,
  cgroup: ReturnType<typeof serverCgroup>,
): Promise<ChildProcess> {
  const root = join(w, 'root');
  const c =
    server === 'gough'
      ? startGough(ns, `const s = await p.TftpServer.listen({ root: ${JSON.stringify(root)} });`, cpus)
      : start(ns, ns.srv, 'in.tftpd', ['-L', '-s', root, '-a', '10.250.0.1:69', '-u', 'root'], cpus);
  // Before it can fork or start threads (taskset and ip exec into the server: same PID).
  if (c.pid !== undefined) cgroup?.add(c.pid);
  if (server === 'gough') await until('Gough TFTP', 10_000, () => c.out().includes('READY'));
  // Warm-up, not measured, the same for both: a burst of 8 concurrent fetches (page cache, ARP, and the JIT of each
  // Gough worker thread, which otherwise compiles its hot path during the first measured round).
  const warm = 8;
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      await tftpRound(ns, w, ['blksize 1468'], { clients: warm, own: cpus !== undefined, outDir: join(w, 'out') });
      break;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // The measured rounds write to /dev/null: the warm-up checks what the server sent.
  const want = readFileSync(join(root, 'file.bin'));
  for (let i = 0; i < warm; i++) {
    if (!readFileSync(join(w, 'out', `f${i}`)).equals(want)) throw new Error(`${server}: fetched file.bin differs`);
  }
  return c;
}

/**
 * Wall ms, busy share per CPU, the server's own CPU ms (cgroup; NaN without one), and the CPU ms of other jobs on the
 * machine (processes outside this bench: `othersMs`).
 */
type Timed = { ms: number; busy: number[]; serverMs: number; otherMs: number };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function tftpBench(ns: Ns, w: string, print: (line: string) => void): Promise<void> {
  execFileSync('mkdir', ['-p', join(w, 'root'), join(w, 'out')]);
  writeFileSync(join(w, 'root', 'file.bin'), randomBytes(FILE_BYTES));
  execFileSync('chmod', ['-R', 'a+rX', join(w, 'root')]);
  const labels = Object.keys(TFTP_OPTIONS);
  if (TFTP_CPU.length === 0) throw new Error('GOUGH_BENCH_PXE_TFTP_CPU takes pinned, shared or both (comma-separated)');
  const modes = TFTP_CPU.filter((m) => m === 'shared' || cpuTimes().length >= 2);
  if (modes.length < TFTP_CPU.length) print('TFTP pinned mode needs 2 CPUs: skipped');
  const key = (mode: CpuMode, server: TftpServerName, label: string) => `${mode} ${server} ${label}`;
  const times = new Map<string, Timed[]>();
  const win = new Map<CpuMode, Timed[]>();
  const cgroup = serverCgroup();
  const timed = async (options: string[], mode: CpuMode): Promise<Timed> => {
    let a = cpuTimes();
    let u = Number.NaN;
    let o = new Map<string, number>();
    const ms = await tftpRound(ns, w, options, {
      own: mode === 'pinned',
      atRelease: () => {
        a = cpuTimes();
        u = cgroup?.usage() ?? Number.NaN;
        o = othersMs();
      },
    });
    const b = cpuTimes();
    const otherMs = othersDelta(o, othersMs(), ms, b.length);
    return { ms, busy: busyShare(a, b), serverMs: (cgroup?.usage() ?? Number.NaN) - u, otherMs };
  };
  try {
    for (let round = 0; round < TFTP_ROUNDS; round++) {
      for (const mode of modes) {
        const order = round % 2 === 0 ? (['gough', 'hpa'] as const) : (['hpa', 'gough'] as const);
        const unpin = mode === 'pinned' ? pinSelf(CLIENT_CPU) : () => {};
        try {
          for (const server of order) {
            const c = await tftpServer(ns, w, server, mode === 'pinned' ? SERVER_CPU : undefined, cgroup);
            for (const label of labels) {
              const k = key(mode, server, label);
              times.set(k, [...(times.get(k) ?? []), await timed(TFTP_OPTIONS[label] ?? [], mode)]);
            }
            if (server === 'gough') {
              win.set(mode, [...(win.get(mode) ?? []), await timed(['blksize 1468', 'windowsize 8'], mode)]);
            }
            await stop(c);
          }
        } finally {
          unpin();
        }
      }
    }
  } finally {
    cgroup?.remove();
  }
  const mibs = (ms: number) => CLIENTS / (ms / 1000);
  const pct = (x: number | undefined) => `${Math.round((x ?? 0) * 100)}`;
  /** Busy % of CPU 0/1, then the server's own and other jobs' CPU, in % of one CPU. */
  const load = (t: Timed) => `${t.busy.map(pct).join('/')} (${pct(t.serverMs / t.ms)}, ${pct(t.otherMs / t.ms)})`;
  /** A round ran on a quiet machine: other jobs took at most OTHER_MAX of one CPU. */
  const quiet = (t: Timed) => !(t.otherMs / t.ms > OTHER_MAX);
  /** The server's CPU µs per DATA/ACK exchange (cgroup CPU time over clients × blocks). */
  const perExchange = (t: Timed, blksize: number) =>
    (t.serverMs * 1000) / (CLIENTS * (Math.floor(FILE_BYTES / blksize) + 1));
  print('');
  print(
    `TFTP: ${CLIENTS} concurrent atftp clients, 1 MiB each (MiB/s = ${CLIENTS} MiB / wall time from the release of the clients, all started and waiting behind a gate, to the last one's exit; an unmeasured warm-up burst of 8 fetches per server start; ${TFTP_ROUNDS} round(s), alternating which server goes first).`,
  );
  print(
    `µs/exchange: the server's own CPU time (${cgroup === undefined ? 'no cgroup v1 cpuacct here: n/a' : 'cgroup cpuacct'}) per DATA/ACK exchange. CPU column: busy % of CPU 0/1 (server's own, other jobs' CPU in % of one CPU); a pair of runs where other jobs took more than ${OTHER_MAX * 100} % in either is marked "busy machine" and left out of the median.`,
  );
  const ratios = new Map<string, { all: number[]; quiet: number[] }>();
  for (const mode of modes) {
    print('');
    print(
      mode === 'pinned'
        ? `Pinned (the ratio): clients on CPU ${CLIENT_CPU}, the server under test alone on CPU ${SERVER_CPU} (taskset, nice ${PINNED_NICE})`
        : 'Shared: clients and server on both CPUs (no pinning)',
    );
    print('');
    const rows: (string | number)[][] = [];
    for (const label of labels) {
      const blksize = TFTP_BLKSIZE[label] ?? 512;
      const g = times.get(key(mode, 'gough', label)) ?? [];
      const h = times.get(key(mode, 'hpa', label)) ?? [];
      const rs = { all: [] as number[], quiet: [] as number[] };
      for (let round = 0; round < TFTP_ROUNDS; round++) {
        const gr = g[round];
        const hr = h[round];
        if (gr === undefined || hr === undefined) continue;
        const ok = quiet(gr) && quiet(hr);
        rs.all.push(hr.ms / gr.ms);
        if (ok) rs.quiet.push(hr.ms / gr.ms);
        rows.push([
          `${TFTP_ROUNDS > 1 ? `${label} #${round + 1}` : label}${ok ? '' : ' (busy machine)'}`,
          mibs(gr.ms),
          mibs(hr.ms),
          hr.ms / gr.ms,
          perExchange(gr, blksize),
          perExchange(hr, blksize),
          load(gr),
          load(hr),
        ]);
      }
      ratios.set(`${mode} ${label}`, rs);
    }
    print(
      table(
        [
          'client options',
          'Gough MiB/s',
          'tftpd-hpa MiB/s',
          'ratio',
          'Gough µs/exchange',
          'tftpd-hpa µs/exchange',
          'CPU % (Gough)',
          'CPU % (tftpd-hpa)',
        ],
        rows,
      ).join('\n'),
    );
    print('');
    for (const t of win.get(mode) ?? []) {
      print(
        `Gough with windowsize 8 (RFC 7440; tftpd-hpa has none): ${mibs(t.ms).toFixed(1)} MiB/s, ${perExchange(t, 1468).toFixed(1)} µs/block, CPU % ${load(t)}`,
      );
    }
  }
  print('');
  const summary = (xs: number[]) =>
    xs.length === 0
      ? 'no rounds'
      : `median ${median(xs).toFixed(2)}× (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}, ${xs.length} rounds)`;
  for (const mode of modes) {
    for (const label of labels) {
      const rs = ratios.get(`${mode} ${label}`);
      if (rs === undefined || rs.all.length === 0) continue;
      print(
        `${mode === 'pinned' ? 'TFTP ratio' : 'shared-CPU ratio'} (Gough / tftpd-hpa throughput), ${label}: quiet rounds ${summary(rs.quiet)}; all rounds ${summary(rs.all)}`,
      );
    }
  }
}

const VMS = 10;

/** 10 qemu VMs (TCG, iPXE ROM) power on at once and install from one Gough: wall time until all reported done. */
async function vmStorm(w: string): Promise<{ ms: number; done: number }> {
  const base = `gvm${process.pid}`;
  const ns: Ns = { srv: `${base}s`, cli: `${base}c`, children: [] };
  const ip = (...a: string[]) => sh('ip', a);
  ip('netns', 'add', ns.srv);
  ip('netns', 'add', ns.cli);
  try {
    ip('link', 'add', 'vsrv', 'netns', ns.srv, 'type', 'veth', 'peer', 'name', 'vcli', 'netns', ns.cli);
    ip('-n', ns.srv, 'addr', 'add', '10.250.0.1/24', 'dev', 'vsrv');
    ip('-n', ns.srv, '-6', 'addr', 'add', 'fd00:250::1/64', 'dev', 'vsrv', 'nodad');
    ip('-n', ns.srv, 'link', 'set', 'lo', 'up');
    ip('-n', ns.srv, 'link', 'set', 'vsrv', 'up');
    ip('-n', ns.cli, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', ns.cli, 'link', 'set', 'vcli', 'master', 'br0');
    ip('-n', ns.cli, 'link', 'set', 'vcli', 'up');
    for (let i = 0; i < VMS; i++) {
      ip('-n', ns.cli, 'tuntap', 'add', `tap${i}`, 'mode', 'tap');
      ip('-n', ns.cli, 'link', 'set', `tap${i}`, 'master', 'br0');
      ip('-n', ns.cli, 'link', 'set', `tap${i}`, 'up');
    }
    ip('-n', ns.cli, 'link', 'set', 'br0', 'up');
    const site: Site = {
      apiVersion: 'gough.dev/v1',
      kind: 'Site',
      metadata: { name: 'bench' },
      spec: {
        provisioner: 'pxe',
        pxe: {
          interface: 'vsrv',
          mode: 'dhcp',
          subnet: '10.250.0.0/24',
          bootServer: '10.250.0.1',
          httpPort: 8081,
          router: '10.250.0.1',
          installer: { kernel: 'linux', initrd: ['initrd'] },
        },
      },
    };
    const hosts: DesiredHost[] = [];
    for (let i = 0; i < VMS; i++) {
      const nn = String(i + 1).padStart(2, '0');
      const host: Host = {
        apiVersion: 'gough.dev/v1',
        kind: 'Host',
        metadata: { name: `vm${nn}` },
        spec: {
          site: 'bench',
          state: 'deployed',
          power: 'on',
          hardware: { macs: [`52:54:00:26:00:${nn}`], arch: 'amd64', firmware: 'bios' },
          network: { address: `10.250.0.${10 + i + 1}` },
        },
      };
      const r = renderHost({ host, site, template: undefined, revision: 'bench' });
      if (!r.ok) throw new Error('render failed');
      hosts.push({ host, site, revision: 'bench', rendered: r.rendered });
    }
    const http = join(w, 'vm-http');
    execFileSync('mkdir', ['-p', http]);
    const seed = 'http://10.250.0.1:8081/cloud-init/$' + '{net0/mac}/';
    writeFileSync(join(http, 'linux'), ['#!ipxe', `imgfetch ${seed}user-data`, `imgfetch ${seed}done`, ''].join('\n'));
    writeFileSync(join(http, 'initrd'), 'x');
    writeFileSync(join(w, 'vm-cfg.json'), JSON.stringify({ site, hosts, filesDir: http, armDeployed: true }));
    writeFileSync(
      join(w, 'ra.conf'),
      [
        'port=0',
        'interface=vsrv',
        'bind-interfaces',
        'enable-ra',
        'dhcp-range=::,constructor:vsrv,ra-only,1h',
        'ra-param=vsrv,3,0',
        '',
      ].join('\n'),
    );
    start(ns, ns.srv, 'dnsmasq', [
      `--conf-file=${join(w, 'ra.conf')}`,
      '--keep-in-foreground',
      `--pid-file=${join(w, 'ra.pid')}`,
    ]);
    const svc = start(ns, ns.srv, process.execPath, [
      '--input-type=module',
      '-e',
      `import { readFileSync } from 'node:fs'; import * as p from ${JSON.stringify(PXE_INDEX)};
       const cfg = JSON.parse(readFileSync(${JSON.stringify(join(w, 'vm-cfg.json'))}, 'utf8'));
       const s = await p.PxeService.start({ ...cfg, onEvent: (e) => console.log('EVENT ' + e.kind) });
       console.log('READY'); process.on('SIGTERM', async () => { await s.close(); process.exit(0); });`,
    ]);
    await until('PXE services', 10_000, () => svc.out().includes('READY'));
    const t0 = performance.now();
    for (let i = 0; i < VMS; i++) {
      const nn = String(i + 1).padStart(2, '0');
      start(ns, ns.cli, 'qemu-system-x86_64', [
        ...[
          '-accel',
          'tcg',
          '-m',
          '64',
          '-nographic',
          '-serial',
          'null',
          '-monitor',
          'none',
          '-no-reboot',
          '-boot',
          'n',
        ],
        ...[
          '-netdev',
          `tap,id=n0,ifname=tap${i},script=no,downscript=no`,
          '-device',
          `virtio-net-pci,netdev=n0,mac=52:54:00:26:00:${nn}`,
        ],
      ]);
    }
    const done = () => svc.out().split('EVENT install-complete').length - 1;
    await until(`${VMS} installs`, 180_000, () => done() >= VMS).catch(() => undefined);
    return { ms: performance.now() - t0, done: done() };
  } finally {
    for (const c of ns.children) c.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    for (const n of [ns.srv, ns.cli]) {
      try {
        sh('ip', ['netns', 'del', n]);
      } catch {
        // gone
      }
    }
  }
}

export const benchmark: Benchmark = {
  name: 'pxe',
  title: 'Built-in PXE: DHCP vs dnsmasq (perfdhcp), TFTP vs tftpd-hpa (100 concurrent 1 MiB fetches)',
  async run(print) {
    if (process.getuid?.() !== 0) throw new Error('The pxe benchmark needs root (network namespaces)');
    const w = mkdtempSync(join(tmpdir(), 'gough-bench-pxe-'));
    writeFileSync(
      join(w, 'dnsmasq.conf'),
      [
        'port=0',
        'interface=vsrv',
        'bind-interfaces',
        'dhcp-range=10.250.1.0,10.250.255.254,255.255.0.0,1h',
        'dhcp-option=option:router,10.250.0.1',
        'dhcp-option=option:dns-server,10.250.0.1',
        `dhcp-leasefile=${join(w, 'leases', 'dnsmasq.leases')}`,
        'dhcp-authoritative',
        'dhcp-lease-max=100000',
        'no-ping',
        'user=root',
        'log-facility=-',
        // Per-packet logging would make dnsmasq block on its log pipe; Gough logs nothing here either.
        'quiet-dhcp',
        '',
      ].join('\n'),
    );
    const ns = netns();
    try {
      if (PARTS.has('dhcp')) {
        print(
          `DHCP: perfdhcp -4 (as a relay) at each rate for ${SECONDS} s, new clients (MACs) every exchange; /16 pool.`,
        );
        print('');
        const g = await dhcpRound(ns, w, 'gough');
        const d = await dhcpRound(ns, w, 'dnsmasq');
        print(
          table(
            [
              'rate (DORA/s)',
              'Gough ACKs/s',
              'Gough drops',
              'Gough RA avg ms',
              'dnsmasq ACKs/s',
              'dnsmasq drops',
              'dnsmasq RA avg ms',
            ],
            RATES.map((r, i) => [
              r,
              g[i]?.perSecond ?? 0,
              g[i]?.drops ?? 0,
              g[i]?.avgMs ?? 0,
              d[i]?.perSecond ?? 0,
              d[i]?.drops ?? 0,
              d[i]?.avgMs ?? 0,
            ]),
          ).join('\n'),
        );
        const best = (xs: Perf[]) => Math.max(0, ...xs.filter((x) => x.drops === 0).map((x) => x.perSecond));
        const gb = best(g);
        const db = best(d);
        print('');
        print(
          `max exchanges/s with 0 drops: Gough ${gb.toFixed(0)}, dnsmasq ${db.toFixed(0)}, ratio ${db > 0 ? (gb / db).toFixed(2) : 'n/a'}×`,
        );
      }
      if (PARTS.has('tftp')) await tftpBench(ns, w, print);
      if (PARTS.has('vms') && process.env.GOUGH_BENCH_PXE_VMS !== '0') {
        const storm = await vmStorm(w);
        print('');
        print(
          `Boot storm: ${VMS} qemu VMs (TCG, 64 MiB) power on at once, DHCP + iPXE script + seed + done: ${storm.done}/${VMS} installed in ${(storm.ms / 1000).toFixed(1)} s`,
        );
      }
    } finally {
      for (const c of ns.children) await stop(c);
      for (const n of [ns.srv, ns.cli]) {
        try {
          sh('ip', ['netns', 'del', n]);
        } catch {
          // gone
        }
      }
      rmSync(w, { recursive: true, force: true });
    }
  },
};
