/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws on anything a
 * Prometheus server would reject (bad names, bad escapes, bad values, TYPE after samples, duplicate
 * series, interleaved families, histogram buckets that are not cumulative or lack `+Inf`).
 */
export type Sample = { name: string; labels: Record<string, string>; value: number };
export type Family = { name: string; type: string; help?: string; samples: Sample[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, line: number): number {
  if (s === '+Inf') return Number.POSITIVE_INFINITY;
  if (s === '-Inf') return Number.NEGATIVE_INFINITY;
  if (s === 'NaN') return Number.NaN;
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`line ${line}: bad value "${s}"`);
  return Number(s);
}

function familyOf(sampleName: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count', '']) {
    if (suffix && !sampleName.endsWith(suffix)) continue;
    const base = suffix ? sampleName.slice(0, -suffix.length) : sampleName;
    const f = families.get(base);
    if (f && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return base;
  }
  return sampleName;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  const seen = new Set<string>();
  let current: string | undefined;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) return; // plain comment
      const [, kw, name = '', rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`line ${n}: bad metric name "${name}"`);
      let f = families.get(name);
      if (f && finished.has(name)) throw new Error(`line ${n}: family "${name}" appears twice`);
      if (!f) {
        f = { name, type: 'untyped', samples: [] };
        families.set(name, f);
      }
      if (current !== undefined && current !== name) finished.add(current);
      current = name;
      if (kw === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`line ${n}: bad type "${rest}"`);
        if (f.samples.length > 0) throw new Error(`line ${n}: TYPE after samples of "${name}"`);
        f.type = rest;
      } else {
        if (f.help !== undefined) throw new Error(`line ${n}: second HELP for "${name}"`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`line ${n}: bad escape in HELP`);
        f.help = rest;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(raw);
    if (!m) throw new Error(`line ${n}: not a sample: ${raw}`);
    const [, name = '', , labelText, value = ''] = m;
    const labels: Record<string, string> = {};
    if (labelText !== undefined && labelText !== '') {
      let rest = labelText;
      while (rest.length > 0) {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
        if (!lm) throw new Error(`line ${n}: bad labels {${labelText}}`);
        const [all, ln = '', lv = ''] = lm;
        if (!LABEL_NAME.test(ln) || ln.startsWith('__')) throw new Error(`line ${n}: bad label name "${ln}"`);
        if (ln in labels) throw new Error(`line ${n}: duplicate label "${ln}"`);
        labels[ln] = lv.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        rest = rest.slice(all.length);
      }
    }
    const fam = familyOf(name, families);
    let f = families.get(fam);
    if (!f) {
      f = { name: fam, type: 'untyped', samples: [] };
      families.set(fam, f);
    }
    if (finished.has(fam)) throw new Error(`line ${n}: samples of "${fam}" are not contiguous`);
    if (current !== undefined && current !== fam) finished.add(current);
    current = fam;
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`line ${n}: duplicate series ${key}`);
    seen.add(key);
    if (f.type === 'histogram' && name === `${fam}_bucket` && labels.le === undefined) throw new Error(`line ${n}: bucket without le`);
    f.samples.push({ name, labels, value: parseValue(value, n) });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le: _le, ...rest } = s.labels;
    const k = JSON.stringify(Object.entries(rest).sort());
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const [k, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    const count = samples.find((s) => s.name === `${f.name}_count`);
    if (!samples.some((s) => s.name === `${f.name}_sum`) || !count) throw new Error(`histogram ${f.name}${k} lacks _sum or _count`);
    const inf = buckets.find((b) => b.labels.le === '+Inf');
    if (!inf) throw new Error(`histogram ${f.name}${k} lacks the +Inf bucket`);
    if (inf.value !== count.value) throw new Error(`histogram ${f.name}${k}: +Inf bucket != _count`);
    let prevLe = Number.NEGATIVE_INFINITY;
    let prev = 0;
    for (const b of buckets) {
      const le = parseValue(b.labels.le ?? '', 0);
      if (le <= prevLe) throw new Error(`histogram ${f.name}${k}: buckets not sorted by le`);
      if (b.value < prev) throw new Error(`histogram ${f.name}${k}: buckets not cumulative`);
      prevLe = le;
      prev = b.value;
    }
  }
}

/** The value of one series, or undefined. */
export function seriesValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
