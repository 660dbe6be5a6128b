/** `gough render HOST [DIR] [--only user-data|meta-data|ipxe]`: print what one host would run. */
import { parseArgs } from 'node:util';
import type { Diagnostic, RenderedHost } from '../../model/index.js';
import { countLabel, formatDiagnosticIn, } from '../../repo/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';
import { loadRepoArg } from '../repo-arg.js';

const SECTIONS = ['user-data', 'meta-data', 'ipxe'] as const;
type Section = (typeof SECTIONS)[number];

const HELP = `Usage: gough render HOST [DIR] [--only user-data|meta-data|ipxe]

Load the config repository in DIR (default: the current directory) and print what
HOST would run: its cloud-init user-data, NoCloud meta-data and iPXE script, with
the kernel arguments and the specHash (a host whose deployed specHash differs is
redeployed). Rendering is what the daemon does: strict variables, no file access.

Output: a header block, then one section per part, each starting with a line
"# user-data", "# meta-data" or "# ipxe". With --only, just that part, exactly as
the host receives it (no headers), for piping into a file or a linter.

Options:
  --only PART  print only user-data, meta-data or ipxe
  -h, --help   Show this help

Exit status:
  0  rendered (problems elsewhere in the repository are counted on stderr)
  1  HOST is not defined, or the repository has errors that stop it rendering
     (printed as "file:line:col: error[code]: message")
  2  usage error, or DIR cannot be read

Template language and variables: docs/templates.md.

Examples:
  gough render edge-01 example-repo
  gough render r1-n01 example-repo --only user-data > user-data.yaml`;

function usageError(io: CliIo, message: string): number {
  io.stderr.write(`gough render: ${message}\nRun "gough render --help" for usage.\n`);
  return EXIT.usage;
}

function section(name: Section, r: RenderedHost): string {
  switch (name) {
    case 'user-data':
      return r.userData;
    case 'meta-data':
      return r.metaData;
    case 'ipxe':
      return r.ipxeScript;
  }
}

function withNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

/** The diagnostics that concern one host: errors in its file, or naming it. */
function hostErrors(diagnostics: readonly Diagnostic[], name: string, file: string | undefined): Diagnostic[] {
  return diagnostics.filter(
    (d) => d.severity === 'error' && (d.file === file || d.message.includes(`host "${name}"`) || d.message.includes(`Host "${name}"`)),
  );
}

async function run(argv: string[], io: CliIo): Promise<number> {
  let values: { only?: string | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { only: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    return usageError(io, e instanceof Error ? e.message : String(e));
  }
  const only = values.only as Section | undefined;
  if (only !== undefined && !SECTIONS.includes(only)) {
    return usageError(io, `unknown part "${values.only}": expected user-data, meta-data or ipxe`);
  }
  const [name, dirArg, ...extra] = positionals;
  if (name === undefined) return usageError(io, 'expected a host name');
  if (extra.length > 0) return usageError(io, `expected HOST [DIR], got ${positionals.length} arguments`);
  const dir = dirArg ?? '.';
  const result = await loadRepoArg(io, 'render', dir, 'load');
  if (result === undefined) return EXIT.usage;
  const { desired, diagnostics } = result;
  const host = desired.hosts.find((h) => h.metadata.name === name);
  if (host === undefined) {
    io.stderr.write(`gough render: Host "${name}" is not defined in "${dir}"\n`);
    return EXIT.failed;
  }
  const rendered = desired.rendered.get(name);
  if (rendered === undefined) {
    const mine = hostErrors(diagnostics, name, desired.sources.get(`Host/${name}`)?.file);
    const shown = mine.length > 0 ? mine : diagnostics.filter((d) => d.severity === 'error');
    for (const d of shown) io.stderr.write(`${formatDiagnosticIn(d, dir)}\n`);
    io.stderr.write(`gough render: Host "${name}" cannot be rendered: ${countLabel(shown)}\n`);
    return EXIT.failed;
  }
  const others = diagnostics.filter((d) => d.severity === 'error');
  if (others.length > 0) {
    io.stderr.write(`gough render: note: the repository has ${countLabel(diagnostics)}; run "gough validate ${dir}"\n`);
  }

  if (only !== undefined) {
    io.stdout.write(section(only, rendered));
    return EXIT.ok;
  }
  const out = [
    `# host: ${name} (site ${host.spec.site}, template ${host.spec.template ?? 'none'}, ${rendered.os.distro} ${rendered.os.series})`,
    `# specHash: ${rendered.specHash}`,
    `# kernelArgs: ${rendered.kernelArgs}`,
  ];
  for (const s of SECTIONS) out.push(`# ${s}`, withNewline(section(s, rendered)).slice(0, -1));
  io.stdout.write(`${out.join('\n')}\n`);
  return EXIT.ok;
}

export const renderCommand: Command = {
  name: 'render',
  summary: "Print a host's rendered user-data, meta-data and iPXE script",
  help: HELP,
  run,
};
