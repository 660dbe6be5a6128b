/**
 * qemu (TCG) virtual machines that netboot with the iPXE ROM of Debian's ipxe-qemu, on a tap inside a network
 * namespace (PEERS.md §4, appendix D). KVM here is nested/paravirtual and hangs iPXE: always `-accel tcg`.
 * `kill()` stops the VM by PID; tests call it in afterAll (and as soon as they have seen what they wait for).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type Vm = {
  pid: number | undefined;
  /** Console output so far (SeaBIOS + iPXE on the serial port). */
  serial(): string;
  kill(): Promise<void>;
};

export function startVm(o: { ns: string; tap: string; mac: string; serialFile: string; memMiB?: number }): Vm {
  const child: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      o.ns,
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-m',
      String(o.memMiB ?? 128),
      '-nographic',
      '-serial',
      `file:${o.serialFile}`,
      '-monitor',
      'none',
      '-no-reboot',
      '-boot',
      'n',
      '-netdev',
      `tap,id=n0,ifname=${o.tap},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=n0,mac=${o.mac}`,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  return {
    pid: child.pid,
    serial() {
      try {
        return readFileSync(o.serialFile, 'latin1').replace(/\r/g, '');
      } catch {
        return '';
      }
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL'); // `ip netns exec` execs qemu, so this PID is qemu itself
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}
