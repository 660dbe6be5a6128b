/** `gough plan [DIR] --observed FILE.json|maas|lab`: what Gough would do, and what policy holds back. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labPaths, resolveStateDir } from '../../lab/index.js';
import type { Approval, DesiredHost, DesiredState, ObservedHost, ObservedState, Site } from '../../model/index.js';
import { GoughError, isGoughError } from '../../model/index.js';
import { parseObservedSnapshot, plan } from '../../plan/index.js';
import { renderPlanJson, renderPlanMarkdown, renderPlanText } from '../../report/index.js';
import { formatDiagnosticIn, hasErrors, loadDirectory } from '../../repo/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';
import { createProvisioner } from '../providers.js';
import { createSecretResolver } from '../secrets.js';

const FORMATS = ['text', 'markdown', 'json'] as const;
type Format = (typeof FORMATS)[number];
const OBSERVE_TIMEOUT_MS = 120_000;

const HELP = `Usage: gough plan [DIR] --observed FILE.json|maas|lab [options]

Show what Gough would do to make the machines match the repository in DIR
(default: the current directory), like "terraform plan": the actions it would
take, what is waiting on work in progress, what policy blocks (every reason, and
until when), and machines the provider has that the repository does not
(orphans, never touched). Nothing is changed. The repository must validate.

Options:
  --observed SOURCE    Where the observed state comes from (required):
                         FILE.json  a snapshot file (format: docs/plan.md,
                                    schema: schemas/observed.schema.json)
                         maas       ask each MAAS site of the repository (its
                                    API key from the site's apiKeyRef)
                         lab        ask the MAAS emulator of a running
                                    "gough lab" (its URL from the lab state
                                    directory; API key from the site's apiKeyRef)
  --now ISO            The instant to plan at (maintenance windows), e.g.
                       2026-11-28T22:30:00Z (default: now)
  --approved-by LIST   Approvals to assume, comma-separated: USER, or
                       USER:@org/team[:@org/team2] to give the user's teams
  --format FORMAT      text (default), markdown (a PR comment) or json
                       (docs/plan.md, schemas/plan.schema.json)
  --site NAME          Plan only this site
  --maas-url URL       With --observed maas: use this MAAS URL for every MAAS site
  --state-dir DIR      With --observed lab: the lab state directory
  --no-color           No ANSI colour (colour is used only on a terminal and
                       when NO_COLOR is unset)
  -h, --help           Show this help

Exit status:
  0  the plan was computed (with or without changes)
  1  the repository has errors, or the observed state cannot be read
  2  usage error

Examples:
  gough plan example-repo --observed test/fixtures/plan/example-observed.json
  gough plan . --observed maas --site dc1 --format markdown
  gough plan . --observed snapshot.json --now 2026-11-28T22:30:00Z --approved-by alice,bob:@acme/sre`;

type Values = {
  observed?: string | undefined;
  now?: string | undefined;
  'approved-by'?: string | undefined;
  format?: string | undefined;
  site?: string | undefined;
  'maas-url'?: string | undefined;
  'state-dir'?: string | undefined;
  'no-color'?: boolean | undefined;
};

class UsageError extends Error {}

/** `alice,bob:@acme/sre:@acme/net` → approvals. */
export function parseApprovedBy(text: string): Approval[] {
  const out: Approval[] = [];
  for (const item of text.split(',')) {
    const [user, ...teams] = item.trim().split(':').map((s) => s.trim());
    if (!user) throw new UsageError(`--approved-by: empty user in "${text}"`);
    if (teams.some((t) => t === '')) throw new UsageError(`--approved-by: empty team in "${item.trim()}"`);
    out.push(teams.length > 0 ? { user, teams } : { user });
  }
  return out;
}

function desiredHosts(desired: DesiredState, site: Site): DesiredHost[] {
  const out: DesiredHost[] = [];
  for (const host of desired.hosts) {
    if (host.spec.site !== site.metadata.name) continue;
    const rendered = desired.rendered.get(host.metadata.name);
    if (rendered) out.push({ host, site, revision: desired.revision, rendered });
  }
  return out;
}

/** Observes every MAAS site in scope; other sites are left out of the plan (returned so the caller can say so). */
async function observeMaas(
  desired: DesiredState,
  o: { site?: string | undefined; url?: string | undefined; env: NodeJS.ProcessEnv },
): Promise<{ observed: ObservedState; skipped: string[]; sites: Set<string> }> {
  const secrets = createSecretResolver(o.env);
  const hosts: ObservedHost[] = [];
  const skipped: string[] = [];
  const sites = new Set<string>();
  const signal = AbortSignal.timeout(OBSERVE_TIMEOUT_MS);
  const observedAt = new Date().toISOString();
  for (const site of [...desired.sites].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const name = site.metadata.name;
    if (o.site !== undefined && name !== o.site) continue;
    if (site.spec.provisioner !== 'maas' || !site.spec.maas) {
      skipped.push(name);
      continue;
    }
    const s: Site = o.url === undefined ? site : { ...site, spec: { ...site.spec, maas: { ...site.spec.maas, url: o.url } } };
    const provisioner = createProvisioner(s, { secrets });
    for (const h of await provisioner.observe(desiredHosts(desired, s), { signal })) hosts.push(h.site === undefined ? { ...h, site: name } : h);
    sites.add(name);
  }
  return { observed: { observedAt, hosts }, skipped, sites };
}

async function run(argv: string[], io: CliIo): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        observed: { type: 'string' },
        now: { type: 'string' },
        'approved-by': { type: 'string' },
        format: { type: 'string', short: 'f' },
        site: { type: 'string' },
        'maas-url': { type: 'string' },
        'state-dir': { type: 'string' },
        'no-color': { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    io.stderr.write(`gough plan: ${e instanceof Error ? e.message : String(e)}\nRun "gough plan --help" for usage.\n`);
    return EXIT.usage;
  }
  const usage = (msg: string): number => {
    io.stderr.write(`gough plan: ${msg}\nRun "gough plan --help" for usage.\n`);
    return EXIT.usage;
  };
  const format = (values.format ?? 'text') as Format;
  if (!FORMATS.includes(format)) return usage(`unknown format "${values.format}": expected text, markdown or json`);
  if (positionals.length > 1) return usage(`expected at most one directory, got ${positionals.length}`);
  if (values.observed === undefined || values.observed === '') return usage('--observed is required (a snapshot file, maas or lab)');
  const now = values.now ?? new Date().toISOString();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(now) || Number.isNaN(Date.parse(now)))
    return usage(`--now must be an ISO 8601 instant such as 2026-11-28T22:30:00Z, got "${now}"`);
  let approvals: Approval[] = [];
  try {
    if (values['approved-by'] !== undefined) approvals = parseApprovedBy(values['approved-by']);
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message);
    throw e;
  }
  const source = values.observed;
  if (values['maas-url'] !== undefined && source !== 'maas') return usage('--maas-url goes with --observed maas');
  if (values['state-dir'] !== undefined && source !== 'lab') return usage('--state-dir goes with --observed lab');

  const dir = positionals[0] ?? '.';
  const root = dir.startsWith('/') ? dir : join(io.cwd, dir);
  try {
    const { desired: loaded, diagnostics } = await loadDirectory(root);
    if (hasErrors(diagnostics)) {
      for (const d of diagnostics) io.stderr.write(`${formatDiagnosticIn(d, dir)}\n`);
      io.stderr.write(`gough plan: the repository "${dir}" has errors (see above): fix them before planning\n`);
      return EXIT.failed;
    }
    if (values.site !== undefined && !loaded.sites.some((s) => s.metadata.name === values.site))
      return usage(`unknown site "${values.site}": the repository defines ${loaded.sites.map((s) => `"${s.metadata.name}"`).join(', ') || 'none'}`);

    let desired: DesiredState = loaded;
    let observed: ObservedState;
    if (source === 'maas' || source === 'lab') {
      let url = values['maas-url'];
      if (source === 'lab') {
        const stateDir = resolveStateDir({ stateDir: values['state-dir'], env: io.env, cwd: io.cwd });
        const file = labPaths(stateDir).emulatorFile;
        const text = await readFile(file, 'utf8').catch(() => {
          throw new GoughError('plan-input', `Cannot find a running lab: "${file}" does not exist (start "gough lab" or pass --state-dir)`);
        });
        url = (JSON.parse(text) as { url?: string }).url;
        if (typeof url !== 'string') throw new GoughError('plan-input', `Cannot read the lab's emulator file "${file}": no "url"`);
      }
      const r = await observeMaas(loaded, { site: values.site, url, env: io.env });
      for (const s of r.skipped) io.stderr.write(`gough plan: skipping site "${s}": --observed ${source} observes only MAAS sites\n`);
      desired = { ...loaded, hosts: loaded.hosts.filter((h) => r.sites.has(h.spec.site)) };
      observed = r.observed;
    } else {
      const file = source.startsWith('/') ? source : join(io.cwd, source);
      const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new GoughError('plan-input', `Cannot read observed state "${source}": ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)}`);
      });
      observed = parseObservedSnapshot(text, source);
    }

    const p = plan(desired, observed, { now, approvals, inFlight: [], failed: [], ...(values.site !== undefined ? { site: values.site } : {}) });
    if (format === 'json') io.stdout.write(renderPlanJson(p));
    else if (format === 'markdown') io.stdout.write(renderPlanMarkdown(p));
    else {
      const color = io.stdout.isTTY === true && !values['no-color'] && (io.env.NO_COLOR === undefined || io.env.NO_COLOR === '');
      io.stdout.write(renderPlanText(p, { color }));
    }
    return EXIT.ok;
  } catch (e) {
    const msg = isGoughError(e) ? e.message : `Cannot plan "${dir}": ${e instanceof Error ? e.message : String(e)}`;
    io.stderr.write(`gough plan: ${msg.split('\n')[0]}\n`);
    return isGoughError(e) && e.code === 'usage' ? EXIT.usage : EXIT.failed;
  }
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'Show what Gough would do to the machines, and what policy holds back (changes nothing)',
  help: HELP,
  run,
};
