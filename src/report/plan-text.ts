/**
 * The plan as text, read like Terraform's: one line per action with a symbol, its reason underneath, then what is
 * waiting, what is blocked (every reason, and until when), orphans, and a summary line of counts.
 */
import type { ActionKind, Plan } from '../model/index.js';
import { ACTION_KINDS } from '../model/index.js';

/** Symbol, legend word and summary phrase per action kind. */
export const KIND_STYLE: Record<ActionKind, { symbol: string; verb: string; color: keyof typeof SGR }> = {
  register: { symbol: '+', verb: 'to register', color: 'green' },
  commission: { symbol: '+', verb: 'to commission', color: 'green' },
  deploy: { symbol: '+', verb: 'to deploy', color: 'green' },
  redeploy: { symbol: '~', verb: 'to redeploy', color: 'yellow' },
  release: { symbol: '-', verb: 'to release', color: 'red' },
  'power-on': { symbol: '>', verb: 'to power on', color: 'cyan' },
  'power-off': { symbol: '<', verb: 'to power off', color: 'red' },
  'power-cycle': { symbol: '!', verb: 'to power-cycle', color: 'magenta' },
  'set-boot': { symbol: '*', verb: 'to set boot', color: 'cyan' },
  'pxe-update': { symbol: '*', verb: 'to update PXE', color: 'cyan' },
};

const LEGEND: Record<string, string> = {
  '+': 'enrol or deploy',
  '~': 'redeploy',
  '-': 'release',
  '>': 'power on',
  '<': 'power off',
  '!': 'power-cycle',
  '*': 'boot settings',
};

const SGR = { green: 32, yellow: 33, red: 31, cyan: 36, magenta: 35, bold: 1, dim: 2 } as const;

export type TextOptions = { color?: boolean };

/** `Plan: 3 to deploy, 1 to redeploy, 2 blocked, 4 waiting.` (counts that are zero are left out). */
export function planSummaryLine(plan: Plan): string {
  const s = plan.summary;
  const parts: string[] = [];
  for (const k of ACTION_KINDS) {
    const n = s.byKind[k];
    if (n) parts.push(`${n} ${KIND_STYLE[k].verb}`);
  }
  if (parts.length === 0) parts.push('no actions');
  if (s.blocked > 0) parts.push(`${s.blocked} blocked`);
  if (s.waits > 0) parts.push(`${s.waits} waiting`);
  if (s.orphans > 0) parts.push(`${s.orphans} orphan${s.orphans === 1 ? '' : 's'}`);
  if (s.converged && s.orphans === 0) return `No changes: ${s.hosts} host${s.hosts === 1 ? '' : 's'} as desired.`;
  return `Plan: ${parts.join(', ')}.`;
}

function sites(plan: Plan): Set<string> {
  const out = new Set<string>();
  for (const a of plan.actions) out.add(a.site);
  for (const b of plan.blocked) out.add(b.action.site);
  for (const w of plan.waits) if (w.site !== undefined) out.add(w.site);
  for (const o of plan.orphans) if (o.site !== undefined) out.add(o.site);
  return out;
}

export function renderPlanText(plan: Plan, opts: TextOptions = {}): string {
  const c = (code: keyof typeof SGR, s: string): string => (opts.color ? `\u001b[${SGR[code]}m${s}\u001b[0m` : s);
  const multiSite = sites(plan).size > 1;
  const where = (host: string, site: string | undefined): string => (multiSite && site !== undefined ? `${host} (${site})` : host);
  const kindWidth = Math.max(0, ...[...plan.actions, ...plan.blocked.map((b) => b.action)].map((a) => a.kind.length));
  const out: string[] = [];
  const hostsWord = `${plan.summary.hosts} host${plan.summary.hosts === 1 ? '' : 's'}`;
  out.push(c('bold', `Gough plan for revision ${plan.revision} (${hostsWord})`), '');

  const used = new Set([...plan.actions, ...plan.blocked.map((b) => b.action)].map((a) => KIND_STYLE[a.kind].symbol));
  if (used.size > 0) {
    out.push('Actions are shown with these symbols:');
    for (const [sym, word] of Object.entries(LEGEND)) if (used.has(sym)) out.push(`  ${sym} ${word}`);
    out.push('');
  }

  if (plan.actions.length > 0) {
    out.push('Gough will perform these actions:', '');
    for (const a of plan.actions) {
      const st = KIND_STYLE[a.kind];
      const tag = a.disruptive ? c('bold', '  (disruptive)') : '';
      out.push(`  ${c(st.color, `${st.symbol} ${a.kind.padEnd(kindWidth)}`)}  ${where(a.host, a.site)}${tag}`);
      out.push(`      ${a.reason}`);
    }
    out.push('');
  }

  if (plan.blocked.length > 0) {
    out.push(c('red', 'Blocked (held back until every reason clears):'), '');
    for (const b of plan.blocked) {
      const a = b.action;
      const st = KIND_STYLE[a.kind];
      out.push(`  ${c(st.color, `${st.symbol} ${a.kind.padEnd(kindWidth)}`)}  ${where(a.host, a.site)}${a.disruptive ? '  (disruptive)' : ''}`);
      out.push(`      ${a.reason}`);
      for (const r of b.reasons) out.push(`      ${c('red', `blocked by ${r.kind}`)}: ${r.message}`);
      if (b.until !== undefined) out.push(`      until ${b.until}`);
    }
    out.push('');
  }

  if (plan.waits.length > 0) {
    out.push(c('dim', 'Waiting (nothing to do until these change):'), '');
    const width = Math.max(...plan.waits.map((w) => where(w.host, w.site).length));
    for (const w of plan.waits) out.push(`  ${where(w.host, w.site).padEnd(width)}  ${w.reason}`);
    out.push('');
  }

  if (plan.orphans.length > 0) {
    out.push('Orphans (known to the provider, not in the repository; left alone):', '');
    for (const o of plan.orphans) out.push(`  ? ${where(o.name, o.site)}  ${o.lifecycle}  (provider id "${o.providerId}")`);
    out.push('');
  }

  out.push(c('bold', planSummaryLine(plan)));
  return `${out.join('\n')}\n`;
}
