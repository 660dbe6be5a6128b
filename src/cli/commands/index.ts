import type { Command } from '../command.js';

/** A command as `gough --help` lists it; its module loads only when the command runs (fast start-up). */
export type CommandEntry = { name: string; summary: string; load: () => Promise<Command> };

/**
 * Every command, in `gough --help` order. Add a command with one entry; `test/unit/cli/commands.test.ts` checks that
 * each entry's name and summary match its module.
 */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'validate', summary: 'Check a config repository and print every problem (exit 1 on errors)', load: async () => (await import('./validate.js')).validateCommand },
  { name: 'render', summary: "Print a host's rendered user-data, meta-data and iPXE script", load: async () => (await import('./render.js')).renderCommand },
  { name: 'plan', summary: 'Show what Gough would do to the machines, and what policy holds back (changes nothing)', load: async () => (await import('./plan.js')).planCommand },
  { name: 'apply', summary: 'Run one reconcile pass, then exit', load: async () => (await import('./apply.js')).applyCommand },
  { name: 'daemon', summary: 'Run the reconcile loop (Git → machines → status)', load: async () => (await import('./daemon.js')).daemonCommand },
  { name: 'retry', summary: 'Re-arm hosts whose actions failed terminally', load: async () => (await import('./retry.js')).retryCommand },
  { name: 'bmc', summary: 'Query or control one BMC over IPMI (power, boot device)', load: async () => (await import('./bmc.js')).bmcCommand },
  { name: 'maas-emulator', summary: 'Run the MAAS emulator with a repo\'s MAAS-site hosts as machines', load: async () => (await import('./maas-emulator.js')).maasEmulatorCommand },
  { name: 'lab', summary: 'Run the whole loop locally: MAAS emulator, lab repo, daemon, status page', load: async () => (await import('./lab.js')).labCommand },
  { name: 'pxe', summary: 'Run the built-in PXE services (DHCP/proxyDHCP, TFTP, HTTP boot) for one site', load: async () => (await import('./pxe.js')).pxeCommand },
];
