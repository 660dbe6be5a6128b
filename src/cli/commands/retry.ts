/** `gough retry HOST... --state-dir DIR`: re-arm hosts whose actions failed terminally. */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Journal } from '../../apply/index.js';
import { loadDaemonConfig } from '../../daemon/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';

const HELP = `Usage: gough retry HOST... [--config FILE | --state-dir DIR]

Re-arm hosts whose last action failed terminally (after its attempts ran out, or with an error that
is never retried). The daemon's next pass plans them again; a new desired revision re-arms every
host on its own.

Options:
  -c, --config FILE   Daemon configuration (for its state directory)
  --state-dir DIR     State directory holding journal.sqlite (default /var/lib/gough)

Exit status: 0 re-armed (or nothing to re-arm), 1 the journal cannot be opened, 2 usage error.

Example:
  gough retry db-03 --config /etc/gough/daemon.yaml`;

async function run(argv: string[], io: CliIo): Promise<number> {
  let stateDir: string;
  let hosts: string[];
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, 'state-dir': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0) throw new Error('name at least one host');
    hosts = positionals;
    const overrides = values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {};
    stateDir =
      values.config !== undefined
        ? loadDaemonConfig(values.config, overrides, io.cwd).stateDir
        : resolve(io.cwd, values['state-dir'] ?? '/var/lib/gough');
  } catch (e) {
    io.stderr.write(`gough retry: ${(e as Error).message}\nRun "gough retry --help" for usage.\n`);
    return EXIT.usage;
  }
  let journal: Journal;
  try {
    journal = Journal.open(join(stateDir, 'journal.sqlite'));
  } catch (e) {
    io.stderr.write(`gough retry: ${(e as Error).message}\n`);
    return EXIT.failed;
  }
  try {
    for (const h of hosts) {
      const n = journal.rearm(h);
      io.stdout.write(n > 0 ? `re-armed ${h} (${n} failed action${n === 1 ? '' : 's'})\n` : `${h}: nothing to re-arm\n`);
    }
  } finally {
    journal.close();
  }
  return EXIT.ok;
}

export const retryCommand: Command = { name: 'retry', summary: 'Re-arm hosts whose actions failed terminally', help: HELP, run };
