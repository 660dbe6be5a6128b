/**
 * renderHost: one host's user-data, meta-data, iPXE script, kernel args and specHash. Pure: the same input
 * gives the same output on every machine and run.
 */
import type { Host, RenderedHost, Site } from '../model/index.js';
import { bootMacOf, hostnameOf } from '../model/index.js';
import { installerBootOf, installerScript, maasScript, noInstallerScript, oneLine, pxeHttpBase } from './boot.js';
import { type CompiledTemplate, type ConfigNode, compiledTemplate, type Field } from './compiled-template.js';
import { formatPath, missingPath, run } from './engine.js';
import { osOf, type Scope, scopeOf } from './scope.js';
import { specHashOf } from './spec-hash.js';
import type { RenderError, RenderInput, RenderResult } from './types.js';
import { emitYaml } from './yaml-emit.js';

/** Where the agent's settings are written on the host. */
export const AGENT_CONFIG_PATH = '/etc/gough/agent.yaml';
/**
 * Where the agent's enrolment token lives on the host. It is never in the rendered user-data (so never in Git,
 * status or the specHash): the provisioner writes it at deploy time from the site's `agent.tokenRef`.
 */
export const AGENT_TOKEN_PATH = '/etc/gough/agent-token';
/** Default agent report interval when the site sets none. */
export const AGENT_REPORT_INTERVAL_DEFAULT = 60;

class RenderFailure extends Error {
  constructor(readonly errors: RenderError[]) {
    super('render failed');
  }
}

/** Static check: every variable every template string reads resolves in this host's scope. */
function missingVariables(c: CompiledTemplate, scope: Scope, hostName: string): RenderError[] {
  const errors: RenderError[] = [];
  for (const { field, compiled } of c.strings) {
    if (compiled.kind !== 'template') continue;
    let seen: Set<string> | undefined; // per template string; most hosts miss nothing, so made on demand
    for (const path of compiled.vars) {
      const missing = missingPath(scope, path);
      if (missing === undefined) continue;
      const variable = formatPath(missing);
      seen ??= new Set();
      if (seen.has(variable)) continue;
      seen.add(variable);
      errors.push({
        code: 'template-var',
        message: `Template "${c.name}" uses "${variable}", which host "${hostName}" does not provide`,
        template: c.name,
        field,
        variable,
      });
    }
  }
  return errors;
}

/** Runs one template string, turning liquidjs' errors into RenderErrors. */
function runField(c: CompiledTemplate, field: Field, compiled: Parameters<typeof run>[0], scope: Scope, hostName: string): string {
  try {
    return run(compiled, scope);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const undef = /^undefined variable: ([^,\s]+)/.exec(detail);
    if (undef?.[1] !== undefined) {
      throw new RenderFailure([
        {
          code: 'template-var',
          message: `Template "${c.name}" uses "${undef[1]}", which host "${hostName}" does not provide`,
          template: c.name,
          field,
          variable: undef[1],
        },
      ]);
    }
    throw new RenderFailure([
      {
        code: 'template-syntax',
        message: `Template "${c.name}" failed to render for host "${hostName}": ${detail}`,
        template: c.name,
        field,
      },
    ]);
  }
}

function renderNode(c: CompiledTemplate, node: ConfigNode, scope: Scope, hostName: string): unknown {
  switch (node.t) {
    case 'literal':
      return node.value;
    case 'template':
      return runField(c, node.field, node.compiled, scope, hostName);
    case 'seq':
      return node.items.map((n) => renderNode(c, n, scope, hostName));
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, n] of node.entries) out[k] = renderNode(c, n, scope, hostName);
      return out;
    }
  }
}

/** Adds the Gough agent install to a rendered cloud-config (a new object; the input is shared and not changed). */
function withAgent(
  config: Record<string, unknown>,
  c: CompiledTemplate,
  host: Host,
  site: Site,
): Record<string, unknown> {
  const url = pxeHttpBase(site);
  if (url === undefined) {
    throw new RenderFailure([
      {
        code: 'template-var',
        message: `Template "${c.name}" installs the agent, but site "${site.metadata.name}" has no pxe.bootServer for agents to reach the daemon`,
        template: c.name,
        field: ['spec', 'agent'],
        variable: 'site.pxe.bootServer',
      },
    ]);
  }
  const listOf = (k: string): unknown[] => {
    const v = config[k];
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    throw new RenderFailure([
      {
        code: 'template-syntax',
        message: `Template "${c.name}" sets agent: true, so cloudConfig.${k} must be a list`,
        template: c.name,
        field: ['spec', 'cloudConfig', k],
      },
    ]);
  };
  const interval = site.spec.agent?.reportIntervalSeconds ?? AGENT_REPORT_INTERVAL_DEFAULT;
  const agentConfig = emitYaml({
    url,
    host: host.metadata.name,
    site: site.metadata.name,
    reportIntervalSeconds: interval,
    tokenFile: AGENT_TOKEN_PATH,
  });
  return {
    ...config,
    write_files: [
      ...listOf('write_files'),
      { path: AGENT_CONFIG_PATH, permissions: '0644', owner: 'root:root', content: agentConfig },
    ],
    runcmd: [
      ...listOf('runcmd'),
      ['sh', '-c', `curl -fsSL --retry 10 --retry-connrefused ${url}/agent/install.sh | sh -s -- --config ${AGENT_CONFIG_PATH}`],
    ],
  };
}

function agentWanted(c: CompiledTemplate | undefined, site: Site): boolean {
  return c?.agent === true && site.spec.agent?.enabled !== false;
}

function renderUserData(c: CompiledTemplate | undefined, scope: Scope, host: Host, site: Site): string {
  if (c?.userData !== undefined) return runField(c, ['spec', 'userData'], c.userData, scope, host.metadata.name);
  let config: Record<string, unknown> = {};
  if (c?.cloudConfig !== undefined) config = renderNode(c, c.cloudConfig, scope, host.metadata.name) as Record<string, unknown>;
  if (c !== undefined && agentWanted(c, site)) config = withAgent(config, c, host, site);
  return `#cloud-config\n${emitYaml(config)}`;
}

function hasBreak(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\n') || v.includes('\r');
  if (Array.isArray(v)) return v.some(hasBreak);
  if (v !== null && typeof v === 'object') return Object.values(v).some(hasBreak);
  return false;
}

function flatten(v: unknown): unknown {
  if (!hasBreak(v)) return v;
  if (typeof v === 'string') return v.replace(/[\r\n]+/g, ' ');
  if (Array.isArray(v)) return v.map(flatten);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, flatten(x)]));
  return v;
}

/** Flattened site scopes, shared by the hosts of a site like the scopes themselves. */
const flatSites = new WeakMap<object, Record<string, unknown>>();

/** The scope with line breaks in every string replaced by spaces: a value can never add an iPXE command. */
function oneLineScope(scope: Scope): Scope {
  let site = flatSites.get(scope.site);
  if (site === undefined) {
    site = flatten(scope.site) as Record<string, unknown>;
    flatSites.set(scope.site, site);
  }
  return { host: flatten(scope.host) as Scope['host'], site, vars: flatten(scope.vars) as Scope['vars'] };
}

function renderIpxe(
  c: CompiledTemplate | undefined,
  scope: Scope,
  host: Host,
  site: Site,
  kernelArgs: string,
): string {
  const header = { host: host.metadata.name, site: site.metadata.name, os: osOf(host) };
  if (site.spec.provisioner !== 'pxe') return maasScript(header);
  const mac = bootMacOf(host);
  const boot = mac === undefined ? undefined : installerBootOf(site, mac, kernelArgs);
  if (boot === undefined) return noInstallerScript(header);
  const script = installerScript(header, boot);
  if (c?.ipxe === undefined) return script;
  const extra = runField(c, ['spec', 'boot', 'ipxe'], c.ipxe, oneLineScope(scope), host.metadata.name).replace(/\n+$/, '');
  if (extra.trim() === '') return script;
  // Extra lines go right before the installer's `kernel` line.
  const at = script.indexOf('\nkernel ');
  return `${script.slice(0, at + 1)}${extra}\n${script.slice(at + 1)}`;
}

export function renderHost(input: RenderInput): RenderResult {
  const { host, site, template } = input;
  const c = template === undefined ? undefined : compiledTemplate(template);
  if (c !== undefined && c.errors.length > 0) return { ok: false, errors: c.errors };
  const scope = scopeOf(host, site, template);
  if (c !== undefined) {
    const missing = missingVariables(c, scope, host.metadata.name);
    if (missing.length > 0) return { ok: false, errors: missing };
  }
  try {
    const userData = renderUserData(c, scope, host, site);
    const kernelArgs =
      c?.kernelArgs === undefined
        ? ''
        : oneLine(runField(c, ['spec', 'boot', 'kernelArgs'], c.kernelArgs, scope, host.metadata.name));
    const ipxeScript = renderIpxe(c, scope, host, site, kernelArgs);
    const os = { ...osOf(host) };
    const hostname = hostnameOf(host);
    const hw = host.spec.hardware;
    const specHash = specHashOf({ os, hostname, firmware: hw.firmware, arch: hw.arch, userData, kernelArgs, ipxeScript });
    const metaData = emitYaml({
      'instance-id': `${host.metadata.name}-${specHash.slice(0, 12)}`,
      'local-hostname': hostname,
    });
    const rendered: RenderedHost = { host: host.metadata.name, os, userData, metaData, ipxeScript, kernelArgs, specHash };
    return { ok: true, rendered };
  } catch (err) {
    if (err instanceof RenderFailure) return { ok: false, errors: err.errors };
    throw err;
  }
}
