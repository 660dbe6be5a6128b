import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type MaasMachine,
  mapObserved,
  matchMachines,
  parseEventsPage,
  parseMachine,
  parseMachines,
  parseVersion,
} from '../../../src/drivers/maas/index.js';
import type { Host } from '../../../src/model/index.js';

const FIX = new URL('../../fixtures/maas/', import.meta.url);
const load = (f: string) => JSON.parse(readFileSync(new URL(f, FIX), 'utf8')) as Record<string, unknown>;

describe('parsing recorded MAAS answers', () => {
  it('parses every recorded machine and node example', () => {
    const m = load('examples-machines.json');
    const n = load('examples-nodes.json');
    const objs = [
      ...Object.entries(m).filter(([k]) => k !== 'machines-placeholder').map(([, v]) => v),
      ...['read-node', 'set-owner-data', 'power-on', 'power-off', 'test'].map((k) => n[k]),
      ...(n['read-visible-nodes'] as unknown[]),
      load('gomaasclient-machine.json'),
    ];
    expect(objs.length).toBeGreaterThan(25);
    for (const o of objs) {
      const p = parseMachine(o);
      expect(p.systemId).toMatch(/^\w+$/);
      expect(typeof p.hostname).toBe('string');
      expect(p.interfaces.every((i) => /^[0-9a-f:]{17}$/.test(i.macAddress))).toBe(true);
    }
    const on = parseMachine(n['power-on']);
    expect(on).toMatchObject({ systemId: 'e8xa8m', status: 6, statusName: 'Deployed', powerState: 'on', osystem: 'ubuntu', distroSeries: 'bionic', owner: 'admin' });
    expect(on.bootInterface?.macAddress).toBe('52:54:00:52:a5:9e');
    expect(parseMachine(n['set-owner-data']).annotations).toEqual({ somekey: 'somevalue' });
  });

  it('parses the events, version and list examples', () => {
    const ev = parseEventsPage(load('examples-events.json')['events-query']);
    expect(ev.count).toBe(5);
    expect(ev.events[0]).toMatchObject({ id: 1667, level: 'WARNING', node: '7xtf67' });
    expect(ev.nextUri).toBe('/MAAS/api/2.0/events/?op=query&limit=5&after=1667');
    expect(parseVersion(load('examples-version.json')['version']).capabilities).toContain('authenticate-api');
  });

  it('rejects what it cannot read with bad-response', () => {
    expect(() => parseMachines({})).toThrow(expect.objectContaining({ code: 'bad-response' }));
    expect(() => parseMachine({ hostname: 'x' })).toThrow(expect.objectContaining({ code: 'bad-response' }));
    expect(() => parseMachine({ system_id: 'a', hostname: 'x', status: 'Ready' })).toThrow(/status/);
  });
});

function h(name: string, macs: string[], bootMac?: string): Host {
  return {
    apiVersion: 'gough.dev/v1',
    kind: 'Host',
    metadata: { name },
    spec: { site: 'dc1', hardware: { macs, ...(bootMac ? { bootMac } : {}), arch: 'amd64', firmware: 'uefi' }, state: 'deployed', power: 'on' },
  };
}

function m(systemId: string, boot: string | null, others: string[] = [], extra: Partial<MaasMachine> = {}): MaasMachine {
  return {
    systemId,
    hostname: `maas-${systemId}`,
    status: 4,
    powerState: 'off',
    owner: null,
    annotations: {},
    bootInterface: boot ? { macAddress: boot } : null,
    interfaces: [...(boot ? [{ macAddress: boot }] : []), ...others.map((macAddress) => ({ macAddress }))],
    tagNames: [],
    ...extra,
  };
}

describe('mapping machines to hosts by MAC', () => {
  it('prefers the boot interface, then any interface; a machine matches one host; the rest are orphans', () => {
    const hosts = [
      h('a', ['aa:00:00:00:00:01', 'aa:00:00:00:00:02'], 'aa:00:00:00:00:02'),
      h('b', ['bb:00:00:00:00:01']),
      h('c', ['cc:00:00:00:00:01']),
    ];
    const machines = [
      // x has a's first MAC as a secondary NIC; y boots from a's boot MAC: y wins.
      m('x', 'dd:00:00:00:00:01', ['aa:00:00:00:00:01']),
      m('y', 'aa:00:00:00:00:02'),
      m('z', 'ee:00:00:00:00:01', ['BB:00:00:00:00:01'.toLowerCase()]),
    ];
    const { matched, orphans } = matchMachines(hosts, machines);
    expect(matched.map((x) => [x.host.metadata.name, x.machine.systemId])).toEqual([
      ['a', 'y'],
      ['b', 'z'],
    ]);
    expect(orphans.map((o) => o.systemId)).toEqual(['x']);
  });

  it('builds ObservedHosts with annotations, errors and orphans named by hostname', () => {
    const hosts = [h('a', ['aa:00:00:00:00:01']), h('b', ['bb:00:00:00:00:01'])];
    const machines = [
      m('s1', 'aa:00:00:00:00:01', [], {
        status: 6,
        powerState: 'on',
        osystem: 'ubuntu',
        distroSeries: 'jammy',
        annotations: { gough_spec_hash: 'h1', gough_revision: 'r1' },
        statusMessage: 'Deployed',
      }),
      m('s2', 'bb:00:00:00:00:01', [], { status: 11, errorDescription: 'Installation failed', powerState: 'error' }),
      m('s3', 'ff:00:00:00:00:01'),
    ];
    const out = mapObserved(hosts, machines, 'dc1');
    expect(out[0]).toEqual({
      name: 'a',
      site: 'dc1',
      lifecycle: 'deployed',
      power: 'on',
      os: { distro: 'ubuntu', series: 'jammy' },
      deployedSpecHash: 'h1',
      deployedRevision: 'r1',
      provider: { kind: 'maas', id: 's1', status: 'Deployed', message: 'Deployed' },
      macs: ['aa:00:00:00:00:01'],
      errors: [],
    });
    expect(out[1]).toMatchObject({ name: 'b', lifecycle: 'failed', power: 'error', errors: ['Installation failed', 'MAAS reports power state "error"'] });
    expect(out[2]).toMatchObject({ name: 'maas-s3', lifecycle: 'ready', provider: { id: 's3' } });
    // A machine named like a host but without its MACs is an orphan that cannot pass for the host.
    const clash = mapObserved([h('maas-s9', ['99:00:00:00:00:01'])], [m('s9', 'aa:00:00:00:00:09')], 'dc1');
    expect(clash.map((o) => o.name)).toEqual(['maas-s9@s9']);
  });
});
