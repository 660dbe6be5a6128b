/**
 * The "Done when" scenario: `gough plan example-repo --observed test/fixtures/plan/example-observed.json` with
 * some hosts new, some deployed with an old template, one failed and some in a closed maintenance window.
 * Runs the built CLI (`node dist/cli/bin.js`, built by `npm test` before vitest) in all three formats.
 *
 * Hosts of the fixture whose deployed specHash does not start with `old-` are meant to be up to date; when the
 * example templates change, refresh them with `UPDATE_FIXTURES=1 npx vitest run test/unit/plan/example.test.ts`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState, Plan } from '../../../src/model/index.js';
import { planCommand } from '../../../src/cli/commands/plan.js';
import { parseObservedSnapshot, plan } from '../../../src/plan/index.js';
import { hasErrors, loadDirectory } from '../../../src/repo/index.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = resolve(ROOT, 'dist/cli/bin.js');
const FIXTURE = 'test/fixtures/plan/example-observed.json';
const NOW = '2026-11-23T10:00:00Z'; // Monday 11:00 in Berlin: every example window is closed

type SnapshotFile = { hosts: { name: string; deployedSpecHash?: string; agent?: { specHash?: string } }[] };

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

let desired: DesiredState;
let p: Plan;

beforeAll(async () => {
  const loaded = await loadDirectory(resolve(ROOT, 'example-repo'));
  expect(hasErrors(loaded.diagnostics), JSON.stringify(loaded.diagnostics)).toBe(false);
  desired = loaded.desired;
  const file = resolve(ROOT, FIXTURE);
  if (process.env.UPDATE_FIXTURES === '1') {
    const snap = JSON.parse(readFileSync(file, 'utf8')) as SnapshotFile;
    for (const h of snap.hosts) {
      const hash = desired.rendered.get(h.name)?.specHash;
      if (hash === undefined) continue;
      if (h.deployedSpecHash !== undefined && !h.deployedSpecHash.startsWith('old-')) h.deployedSpecHash = hash;
      if (h.agent?.specHash !== undefined && !h.agent.specHash.startsWith('old-')) h.agent.specHash = hash;
    }
    writeFileSync(file, `${JSON.stringify(snap, null, 2)}\n`);
  }
  p = plan(desired, parseObservedSnapshot(readFileSync(file, 'utf8'), FIXTURE), { now: NOW, approvals: [], inFlight: [] });
});

describe('example-repo with the example snapshot', () => {
  it('the fixture names every up-to-date host with its current specHash (else refresh it, see above)', () => {
    const snap = JSON.parse(readFileSync(resolve(ROOT, FIXTURE), 'utf8')) as SnapshotFile;
    for (const h of snap.hosts) {
      const deployed = h.deployedSpecHash ?? h.agent?.specHash;
      if (deployed === undefined || deployed.startsWith('old-')) continue;
      expect(deployed, `${h.name} in ${FIXTURE}`).toBe(desired.rendered.get(h.name)?.specHash);
    }
  });

  it('plans what the scenario calls for', () => {
    const kinds = Object.fromEntries(p.actions.map((a) => [a.host, a.kind]));
    expect(kinds).toEqual({
      'db-03': 'power-on', // deployed, off, desired on
      'db-04': 'deploy', // failed deployment: deploy again
      'edge-07': 'commission', // new
      'edge-08': 'register', // not known to the provider
      'r1-n01': 'redeploy', // old template; k8s-rollout lets one more host go down
      'r2-n06': 'commission', // new
    });
    const blocked = Object.fromEntries(p.blocked.map((b) => [b.action.host, b.reasons.map((r) => `${r.kind}:${r.policy}`)]));
    expect(blocked).toEqual({
      'db-01': ['window:db-maintenance', 'max-unavailable:db-maintenance', 'approval:db-maintenance', 'protected:protect-primary'],
      'db-02': ['window:db-maintenance', 'max-unavailable:db-maintenance', 'approval:db-maintenance'],
      'edge-05': ['window:edge-window', 'max-unavailable:edge-window'],
      'r1-n02': ['max-unavailable:k8s-rollout'],
      'r1-n03': ['max-unavailable:k8s-rollout'],
    });
    expect(p.waits.map((w) => w.host)).toEqual(['edge-06', 'r2-n05']);
    expect(p.orphans).toEqual([{ name: 'spare-17', site: 'dc1', lifecycle: 'ready', providerId: 'k3m9q2' }]);
    expect(p.summary.hosts).toBe(desired.hosts.length);
  });
});

describe('gough plan (built CLI)', () => {
  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test builds before vitest)`);
  });

  it('text: Terraform-like lines, blocked reasons with until, waits, orphans, summary', async () => {
    const r = await cli(['plan', 'example-repo', '--observed', FIXTURE, '--now', NOW]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^ {2}~ redeploy +r1-n01 \(dc1\) {2}\(disruptive\)$/m);
    expect(out).toMatch(/^ {2}\+ commission +r2-n06 \(dc1\)$/m);
    expect(out).toMatch(/^ {2}\+ register +edge-08 \(edge1\)$/m);
    expect(out).toMatch(/^ {2}\+ deploy +db-04 \(dc1\)\n {6}Provider reports "Failed deployment": deploy spec [0-9a-f]{12} again$/m);
    expect(out).toContain(
      '      blocked by window: Policy "db-maintenance" allows disruptive actions only in its maintenance window "0 2 * * 0" for 4h (Europe/Berlin): closed, opens 2026-11-29T01:00:00.000Z',
    );
    expect(out).toContain('      blocked by protected: Policy "protect-primary" protects this host from disruptive actions');
    expect(out).toMatch(/^ {2}r2-n05 \(dc1\) +Deploying: waiting for it to finish$/m);
    expect(out).toContain('  ? spare-17 (dc1)  ready  (provider id "k3m9q2")');
    expect(out.trimEnd().split('\n').at(-1)).toBe(
      'Plan: 1 to register, 2 to commission, 1 to deploy, 1 to redeploy, 1 to power on, 5 blocked, 2 waiting, 1 orphan.',
    );
    expect(out).not.toContain('\u001b['); // not a terminal: no colour
  });

  it('approvals and a later time change what is blocked; until is shown when every reason has one', async () => {
    const [r, sunday] = await Promise.all([
      cli(['plan', 'example-repo', '--observed', FIXTURE, '--now', NOW, '--approved-by', 'dana:@acme/dba', '--site', 'dc1']),
      cli(['plan', 'example-repo', '--observed', FIXTURE, '--now', '2026-11-29T02:00:00Z', '--approved-by', 'dana:@acme/dba', '--site', 'dc1', '--format', 'json']),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('edge-');
    expect(r.stdout).toContain('blocked by window: Policy "db-maintenance"');
    expect(r.stdout).not.toContain('blocked by approval');
    // inside the Sunday window, with approval: db-02 still waits for max-unavailable (db-03 off, db-04 failed)
    const j = JSON.parse(sunday.stdout) as { blocked: { action: { host: string }; reasons: { kind: string }[] }[] };
    expect(j.blocked.find((b) => b.action.host === 'db-02')?.reasons.map((r) => r.kind)).toEqual(['max-unavailable']);
  });

  it('markdown: summary first, one <details> per site', async () => {
    const r = await cli(['plan', 'example-repo', '--observed', FIXTURE, '--now', NOW, '--format', 'markdown']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('### Gough plan for `worktree`');
    expect(lines[2]).toBe('**Plan: 1 to register, 2 to commission, 1 to deploy, 1 to redeploy, 1 to power on, 5 blocked, 2 waiting, 1 orphan.**');
    expect(r.stdout).toContain('<details><summary><b>dc1</b>: 4 actions (1 disruptive), 4 blocked, 1 waiting, 1 orphan</summary>');
    expect(r.stdout).toContain('<details><summary><b>edge1</b>: 2 actions, 1 blocked, 1 waiting</summary>');
    expect(r.stdout).toMatch(/^\| `db-02` \| redeploy \| \*\*window\*\*: .*<br>\*\*max-unavailable\*\*: .*<br>\*\*approval\*\*: .* \| — \|$/m);
  });

  it('json: valid against schemas/plan.schema.json, same plan as in-process', async () => {
    const r = await cli(['plan', 'example-repo', '--observed', FIXTURE, '--now', NOW, '--format', 'json']);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout) as { actions: { host: string; kind: string }[]; summary: { byKind: object } };
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
    const validate = ajv.compile(JSON.parse(readFileSync(resolve(ROOT, 'schemas/plan.schema.json'), 'utf8')) as object);
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    expect(data.actions.map((a) => `${a.kind} ${a.host}`)).toEqual(p.actions.map((a) => `${a.kind} ${a.host}`));
    expect(data.summary.byKind).toEqual({ register: 1, commission: 2, deploy: 1, redeploy: 1, 'power-on': 1 });
  });

  it('usage and input errors: one line, exit 2 or 1', async () => {
    const [none, badNow, site, missing, bad] = await Promise.all([
      cli(['plan', 'example-repo']),
      cli(['plan', 'example-repo', '--observed', FIXTURE, '--now', 'monday']),
      cli(['plan', 'example-repo', '--observed', FIXTURE, '--site', 'mars']),
      cli(['plan', 'example-repo', '--observed', 'nope.json']),
      cli(['plan', 'example-repo', '--observed', 'package.json']),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('gough plan: --observed is required');
    expect(badNow.code).toBe(2);
    expect(site.code).toBe(2);
    expect(site.stderr).toContain('unknown site "mars": the repository defines "dc1", "edge1"');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('gough plan: Cannot read observed state "nope.json": no such file\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^gough plan: Cannot read observed state "package.json": \(root\): must have required property 'observedAt'/);
  });

  it('colour on a terminal only, and never with NO_COLOR or --no-color (in-process, stdout a fake TTY)', async () => {
    const runWith = async (env: NodeJS.ProcessEnv, isTTY: boolean, extra: string[] = []) => {
      let out = '';
      const stdout = Object.assign(new PassThrough(), { isTTY });
      stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const code = await planCommand.run(['example-repo', '--observed', FIXTURE, '--now', NOW, ...extra], { stdout, stderr: new PassThrough(), env, cwd: ROOT });
      expect(code).toBe(0);
      return out;
    };
    expect(await runWith({}, true)).toContain('\u001b[33m~ redeploy');
    expect(await runWith({ NO_COLOR: '1' }, true)).not.toContain('\u001b[');
    expect(await runWith({}, true, ['--no-color'])).not.toContain('\u001b[');
    expect(await runWith({}, false)).not.toContain('\u001b[');
  });

  it('--no-color is accepted by the built CLI', async () => {
    const r = await cli(['plan', 'example-repo', '--observed', FIXTURE, '--now', NOW, '--no-color'], { NO_COLOR: '1' });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\u001b[');
  });
});
