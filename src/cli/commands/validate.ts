/** `gough validate [DIR] [--format text|json|github]`: check a config repository, print every problem. */
import { parseArgs } from 'node:util';
import {
  countLabel,
  diagnosticsJson,
  formatDiagnosticIn,
  formatGithubAnnotation,
  hasErrors,
} from '../../repo/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';
import { loadRepoArg } from '../repo-arg.js';

const FORMATS = ['text', 'json', 'github'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `Usage: gough validate [DIR] [--format text|json|github]

Check a Gough config repository: every *.yaml/*.yml file under DIR (default: the
current directory; hidden folders such as .git and .github are skipped) is parsed,
checked against the JSON Schemas, and cross-checked (duplicate names, MACs, IP
addresses, BMC addresses and hostnames; references to unknown sites and templates;
literal secrets; template variables a host does not provide). Every problem of the
repository is reported in one run, sorted by file and line.

Options:
  --format FORMAT  text (default): "file:line:col: error[code]: message" lines and a summary
                   json: {"diagnostics":[{"file","line","col","severity","code","message"}]}
                         with file relative to DIR and 1-based line/col
                   github: GitHub Actions annotations (::error file=...,line=...::message)
  -h, --help       Show this help

Exit status:
  0  no errors (warnings allowed)
  1  the repository has errors
  2  usage error, or DIR cannot be read

Codes and what to do about each: docs/errors.md. Format reference: docs/repository-format.md.

Examples:
  gough validate example-repo
  gough validate --format json . | jq '.diagnostics[] | select(.severity == "error")'
  gough validate --format github   # in a GitHub Actions step`;

async function run(argv: string[], io: CliIo): Promise<number> {
  let values: { format?: string | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { format: { type: 'string', short: 'f' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    io.stderr.write(
      `gough validate: ${e instanceof Error ? e.message : String(e)}\nRun "gough validate --help" for usage.\n`,
    );
    return EXIT.usage;
  }
  const format = (values.format ?? 'text') as Format;
  if (!FORMATS.includes(format)) {
    io.stderr.write(`gough validate: unknown format "${values.format}": expected text, json or github\n`);
    return EXIT.usage;
  }
  if (positionals.length > 1) {
    io.stderr.write(`gough validate: expected at most one directory, got ${positionals.length}\n`);
    return EXIT.usage;
  }
  const dir = positionals[0] ?? '.';
  const result = await loadRepoArg(io, 'validate', dir, 'validate');
  if (result === undefined) return EXIT.usage;
  const { diagnostics, files, desired } = result;
  if (format === 'json') {
    io.stdout.write(`${diagnosticsJson(diagnostics)}\n`);
  } else if (format === 'github') {
    for (const d of diagnostics) io.stdout.write(`${formatGithubAnnotation(d, dir)}\n`);
    io.stdout.write(`${summary(dir, diagnostics, files, desired.hosts.length)}\n`);
  } else {
    for (const d of diagnostics) io.stdout.write(`${formatDiagnosticIn(d, dir)}\n`);
    io.stdout.write(`${summary(dir, diagnostics, files, desired.hosts.length)}\n`);
  }
  return hasErrors(diagnostics) ? EXIT.failed : EXIT.ok;
}

function summary(dir: string, d: Parameters<typeof countLabel>[0], files: number, hosts: number): string {
  const f = `${files} file${files === 1 ? '' : 's'}`;
  if (d.length === 0) return `${dir}: ${f}, ${hosts} host${hosts === 1 ? '' : 's'}, no problems`;
  return `${countLabel(d)} in ${f}`;
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check a config repository and print every problem (exit 1 on errors)',
  help: HELP,
  run,
};
