/**
 * The plan as Markdown for a pull-request comment: the summary line first, a table of counts per site, then one
 * `<details>` per site with its actions, blocked actions (every reason, until when), waits and orphans.
 * The body stays under GitHub's 65,536-character comment limit: past `limit` characters rows are summarised.
 */
import type { Action, Plan } from '../model/index.js';
import { KIND_STYLE, planSummaryLine } from './plan-text.js';

export type MarkdownOptions = {
  /** Maximum length of the body (default 60,000, leaving room for a marker and a footer under 65,536). */
  limit?: number;
  /** Heading; default "Gough plan". */
  title?: string;
  /** Where the full plan can be read, e.g. the status branch; shown when rows are left out. */
  fullPlanHint?: string;
};

const NO_SITE = '(no site)';
const MAX_SITES_IN_TABLE = 100;

/** Escapes text for a Markdown table cell (no raw HTML, pipes or line breaks). */
export function mdCell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

type SiteRows = { actions: Action[]; disruptive: number; blocked: Plan['blocked']; waits: Plan['waits']; orphans: Plan['orphans'] };

function bySite(plan: Plan): Map<string, SiteRows> {
  const m = new Map<string, SiteRows>();
  const get = (s: string | undefined): SiteRows => {
    const k = s ?? NO_SITE;
    let r = m.get(k);
    if (!r) {
      r = { actions: [], disruptive: 0, blocked: [], waits: [], orphans: [] };
      m.set(k, r);
    }
    return r;
  };
  for (const a of plan.actions) {
    const r = get(a.site);
    r.actions.push(a);
    if (a.disruptive) r.disruptive++;
  }
  for (const b of plan.blocked) get(b.action.site).blocked.push(b);
  for (const w of plan.waits) get(w.site).waits.push(w);
  for (const o of plan.orphans) get(o.site).orphans.push(o);
  return new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function counts(r: SiteRows): string {
  const parts = [`${r.actions.length} action${r.actions.length === 1 ? '' : 's'}${r.disruptive ? ` (${r.disruptive} disruptive)` : ''}`];
  if (r.blocked.length) parts.push(`${r.blocked.length} blocked`);
  if (r.waits.length) parts.push(`${r.waits.length} waiting`);
  if (r.orphans.length) parts.push(`${r.orphans.length} orphan${r.orphans.length === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** Collects lines while a character budget lasts; counts what it had to leave out. */
class Budget {
  readonly lines: string[] = [];
  #used = 0;
  readonly #limit: number;
  omitted = 0;
  constructor(limit: number) {
    this.#limit = limit;
  }
  /** Adds a line unconditionally (structure: headings, closing tags). */
  push(line: string): void {
    this.lines.push(line);
    this.#used += line.length + 1;
  }
  /** Adds a row if it fits, keeping `reserve` characters for what must follow; else counts it as omitted. */
  row(line: string, reserve: number): boolean {
    if (this.omitted > 0 || this.#used + line.length + 1 + reserve > this.#limit) {
      this.omitted++;
      return false;
    }
    this.push(line);
    return true;
  }
  fits(chars: number, reserve: number): boolean {
    return this.#used + chars + reserve <= this.#limit;
  }
}

export function renderPlanMarkdown(plan: Plan, opts: MarkdownOptions = {}): string {
  const limit = opts.limit ?? 60_000;
  const sites = bySite(plan);
  const b = new Budget(limit);
  b.push(`### ${opts.title ?? 'Gough plan'} for ${code(plan.revision)}`);
  b.push('');
  b.push(`**${planSummaryLine(plan)}**`);
  b.push('');
  if (sites.size > 0) {
    b.push('| site | actions | disruptive | blocked | waiting | orphans |');
    b.push('|---|---:|---:|---:|---:|---:|');
    let n = 0;
    for (const [site, r] of sites) {
      if (n++ >= MAX_SITES_IN_TABLE) break;
      b.push(`| ${mdCell(site)} | ${r.actions.length} | ${r.disruptive} | ${r.blocked.length} | ${r.waits.length} | ${r.orphans.length} |`);
    }
    if (sites.size > MAX_SITES_IN_TABLE) b.push(`| … ${sites.size - MAX_SITES_IN_TABLE} more sites | | | | | |`);
    b.push('');
  }

  let sitesLeft = sites.size;
  for (const [site, r] of sites) {
    sitesLeft--;
    // Room kept for the closing lines of this section and the summaries of the following ones.
    const rest = Math.min(sitesLeft, 200) * 120 + 600;
    if (b.omitted > 0 || !b.fits(200, rest)) {
      b.omitted += r.actions.length + r.blocked.length + r.waits.length + r.orphans.length;
      continue;
    }
    b.push(`<details${sites.size === 1 ? ' open' : ''}><summary><b>${mdCell(site)}</b>: ${counts(r)}</summary>`);
    b.push('');
    const section = (head: string[], rows: string[]): void => {
      if (rows.length === 0) return;
      if (b.omitted > 0) {
        b.omitted += rows.length;
        return;
      }
      for (const h of head) b.push(h);
      for (const row of rows) b.row(row, rest);
      b.push('');
    };
    section(
      ['| | host | action | reason |', '|---|---|---|---|'],
      r.actions.map((a) => `| ${KIND_STYLE[a.kind].symbol} | ${code(a.host)} | ${a.kind}${a.disruptive ? ' (disruptive)' : ''} | ${mdCell(a.reason)} |`),
    );
    section(
      ['**Blocked**', '', '| host | action | why | until |', '|---|---|---|---|'],
      r.blocked.map((x) => {
        const why = x.reasons.map((q) => `**${q.kind}**: ${mdCell(q.message)}`).join('<br>');
        return `| ${code(x.action.host)} | ${x.action.kind} | ${why} | ${x.until ?? '—'} |`;
      }),
    );
    section(['**Waiting**', '', '| host | reason |', '|---|---|'], r.waits.map((w) => `| ${code(w.host)} | ${mdCell(w.reason)} |`));
    section(
      ['**Orphans** (in the provider, not in the repository; left alone)', '', '| name | lifecycle | provider id |', '|---|---|---|'],
      r.orphans.map((o) => `| ${code(o.name)} | ${o.lifecycle} | ${code(o.providerId)} |`),
    );
    b.push('</details>');
    b.push('');
  }
  if (b.omitted > 0) {
    const hint = opts.fullPlanHint ?? 'run `gough plan` for the full plan';
    b.push(`_${b.omitted} more row${b.omitted === 1 ? '' : 's'} not shown to keep this comment under GitHub's size limit: ${hint}._`);
    b.push('');
  }
  return b.lines.join('\n');
}
