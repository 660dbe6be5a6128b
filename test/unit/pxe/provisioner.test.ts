import { describe, expect, it } from 'vitest';
import { EventLog, GateStore, PxeProvisioner, formatBootEvent } from '../../../src/drivers/pxe/index.js';
import type { Action, DesiredHost } from '../../../src/model/index.js';
import { GoughError } from '../../../src/model/index.js';
import { desired, host, site } from '../../integration/pxe/fixture.js';

const S = site();
const [T] = desired(S, [host(1, { address: '10.250.0.11' })]) as [DesiredHost];
const act = (kind: Action['kind']): Action => ({
  id: `x-${kind}`,
  host: 'edge1-n01',
  site: 'edge1',
  kind,
  reason: 'r',
  disruptive: true,
});

function setup() {
  const gate = new GateStore();
  const events = new EventLog();
  return { gate, events, prov: new PxeProvisioner({ gate, events, pollMs: 10 }) };
}

describe('PXE provisioner (no BMC, in-memory gate)', () => {
  it('deploy arms the gate and resolves once the install reports done', async () => {
    const { gate, prov } = setup();
    const p = prov.perform(act('deploy'), T, { deadlineMs: 5000 });
    await new Promise((r) => setTimeout(r, 30));
    expect((await prov.observe([T]))[0]).toMatchObject({ lifecycle: 'deploying', power: 'unknown' });
    expect((await gate.read()).hosts['edge1-n01']?.armed).toMatchObject({
      kind: 'deploy',
      specHash: T.rendered.specHash,
      actionId: 'x-deploy',
    });
    await gate.markProvisioned('edge1-n01', T.rendered.specHash, '2026-01-01T00:00:00Z');
    const out = await p;
    expect(out.observed).toMatchObject({ lifecycle: 'deployed', deployedSpecHash: T.rendered.specHash });
  });

  it('deploy fails with verify-failed (retry with backoff) when the install never reports', async () => {
    const { prov } = setup();
    const e = await prov.perform(act('deploy'), T, { deadlineMs: 100 }).catch((x) => x);
    expect(e).toBeInstanceOf(GoughError);
    expect(e).toMatchObject({ code: 'verify-failed', retry: { kind: 'backoff' } });
    expect(e.message).toBe('Host "edge1-n01" did not report its install complete within 0 s');
  });

  it('a redeploy of a provisioned host with another specHash re-arms; the same specHash is a no-op deploy', async () => {
    const { gate, prov } = setup();
    await gate.markProvisioned('edge1-n01', 'old', '2026-01-01T00:00:00Z');
    expect((await prov.observe([T]))[0]).toMatchObject({ lifecycle: 'deployed', deployedSpecHash: 'old' });
    await prov.perform(act('redeploy'), T, { deadlineMs: 30 }).catch(() => undefined);
    expect((await gate.read()).hosts['edge1-n01']?.armed?.kind).toBe('redeploy');
    await gate.markProvisioned('edge1-n01', T.rendered.specHash, '2026-01-01T00:00:00Z');
    expect((await prov.perform(act('deploy'), T)).message).toMatch(/already runs/);
  });

  it('release clears the gate; power actions without a BMC and commission are refused', async () => {
    const { gate, prov } = setup();
    await gate.markProvisioned('edge1-n01', T.rendered.specHash, '2026-01-01T00:00:00Z');
    expect((await prov.perform(act('release'), T)).observed).toMatchObject({ lifecycle: 'ready' });
    await expect(prov.perform(act('power-on'), T)).rejects.toMatchObject({
      code: 'conflict',
      message: 'Cannot power on host "edge1-n01": it has no BMC',
    });
    await expect(prov.perform(act('commission'), T)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('lists discovered machines as orphans', async () => {
    const { gate, prov } = setup();
    await gate.noteDiscovered('52:54:00:99:00:01', '2026-01-01T00:00:00Z', '10.250.0.150');
    const obs = await prov.observe([T]);
    expect(obs[1]).toMatchObject({ name: '52:54:00:99:00:01', lifecycle: 'new', provider: { kind: 'pxe' } });
  });

  it('formats one log line per boot event', () => {
    expect(
      formatBootEvent({
        kind: 'dhcp-ack',
        at: '2026-01-01T00:00:00.000Z',
        mac: 'aa',
        host: 'n1',
        address: '10.0.0.1',
        reason: 'a b',
      }),
    ).toBe('2026-01-01T00:00:00.000Z dhcp-ack mac=aa host=n1 address=10.0.0.1 reason="a b"');
  });
});
