/**
 * The composition root: the only place that reads argv and process.env and names concrete drivers.
 * Commands are listed explicitly below; each lives in `commands/<name>.ts`.
 */
import { GOUGH_VERSION } from '../model/index.js';
import type { CliIo } from './command.js';
import { EXIT } from './command.js';
import { COMMANDS, type CommandEntry } from './commands/index.js';

function usage(commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: gough <command> [options]',
    '',
    'GitOps reconciler for bare-metal fleets: Git in, servers out, status back to Git.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `gough <command> --help` for a command\'s options.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage(COMMANDS)}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version') {
    io.stdout.write(`gough ${GOUGH_VERSION}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    io.stderr.write(`gough: unknown command "${name}"\n\n${usage(COMMANDS)}\n`);
    return EXIT.usage;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${cmd.help.trimEnd()}\n`);
    return EXIT.ok;
  }
  return cmd.run(rest, io);
}
