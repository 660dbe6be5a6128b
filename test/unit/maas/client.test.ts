/** Client transport with an injected fetch: request encoding and error classification. */
import { describe, expect, it } from 'vitest';
import { type FetchLike, MaasClient } from '../../../src/drivers/maas/index.js';
import { GoughError } from '../../../src/model/index.js';

const KEY = 'CONSUMERKEY0000000:TOKENKEY0000000000:TOKENSECRET00000000000000000000';

type Sent = { url: string; method: string; body: string | undefined; auth: string };

function fake(replies: (Response | Error)[]) {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (url, init) => {
    sent.push({ url, method: String(init.method), body: init.body as string | undefined, auth: (init.headers as Record<string, string>)['authorization'] ?? '' });
    const r = replies.shift();
    if (!r) throw new Error('no reply');
    if (r instanceof Error) throw r;
    return r;
  };
  const sleeps: number[] = [];
  const client = new MaasClient({ url: 'http://maas.test:5240/MAAS/', apiKey: KEY, fetch, sleep: async (ms) => void sleeps.push(ms) });
  return { client, sent, sleeps };
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const text = (body: string, status: number, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { 'content-type': 'text/plain', ...headers } });
const machine = { system_id: 'abc123', hostname: 'n1', status: 9, power_state: 'on', interface_set: [] };

async function err(p: Promise<unknown>): Promise<GoughError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GoughError) return e;
    throw e;
  }
  throw new Error('expected rejection');
}

describe('MaasClient requests', () => {
  it('sends POST ops with op in the query and a form body (repeated keys, base64 user_data)', async () => {
    const { client, sent } = fake([json(machine), json(machine)]);
    await client.createMachine({
      architecture: 'amd64/generic',
      macAddresses: ['aa:bb:cc:00:00:01', 'aa:bb:cc:00:00:02'],
      hostname: 'n1',
      powerType: 'ipmi',
      powerParameters: { power_address: '10.0.0.1' },
    });
    await client.deploy('abc123', { distroSeries: 'jammy', userData: '#cloud-config\nruncmd: [echo hi]\n' });
    expect(sent[0]).toMatchObject({ url: 'http://maas.test:5240/MAAS/api/2.0/machines/', method: 'POST' });
    expect(new URLSearchParams(sent[0]!.body).getAll('mac_addresses')).toEqual(['aa:bb:cc:00:00:01', 'aa:bb:cc:00:00:02']);
    expect(new URLSearchParams(sent[0]!.body).get('power_parameters_power_address')).toBe('10.0.0.1');
    expect(sent[1]!.url).toBe('http://maas.test:5240/MAAS/api/2.0/machines/abc123/?op=deploy');
    const body = new URLSearchParams(sent[1]!.body);
    expect(Buffer.from(body.get('user_data')!, 'base64').toString()).toBe('#cloud-config\nruncmd: [echo hi]\n');
    expect(body.get('distro_series')).toBe('jammy');
    expect(sent[0]!.auth).not.toBe(sent[1]!.auth);
  });

  it('sends GET filters in the query string', async () => {
    const { client, sent } = fake([json([machine])]);
    await client.listMachines({ mac_address: ['aa:00:00:00:00:01', 'aa:00:00:00:00:02'], status: 'ready' });
    expect(sent[0]!.url).toBe('http://maas.test:5240/MAAS/api/2.0/machines/?mac_address=aa%3A00%3A00%3A00%3A00%3A01&mac_address=aa%3A00%3A00%3A00%3A00%3A02&status=ready');
  });
});

describe('MaasClient error classification', () => {
  it.each([
    [401, 'auth-failed', { kind: 'never' }],
    [403, 'permission-denied', { kind: 'never' }],
    [404, 'not-found', { kind: 'never' }],
    [409, 'conflict', { kind: 'never' }],
    [400, 'provider-error', { kind: 'never' }],
    [503, 'busy', { kind: 'backoff' }],
    [500, 'provider-error', { kind: 'backoff' }],
  ])('HTTP %i without Retry-After → %s', async (status, code, retry) => {
    const { client, sent } = fake([text('Nope', status)]);
    const e = await err(client.readMachine('abc123'));
    expect([e.code, e.retry]).toEqual([code, retry]);
    expect(e.message).toContain('Nope');
    expect(sent).toHaveLength(1);
  });

  it('retries 409/503 with Retry-After after the given delay, up to 4 times, then busy', async () => {
    const { client, sleeps, sent } = fake([text('c', 409, { 'retry-after': '5' }), text('u', 503, { 'retry-after': '10' }), json(machine)]);
    await client.release('abc123');
    expect(sleeps).toEqual([5000, 10_000]);
    expect(sent).toHaveLength(3);
    const many = fake(Array.from({ length: 6 }, () => text('c', 409, { 'retry-after': '1' })));
    const e = await err(many.client.release('abc123'));
    expect([e.code, e.retry]).toEqual(['busy', { kind: 'after', ms: 1000 }]);
    expect(many.sent).toHaveLength(5);
  });

  it('does not wait in-process for a Retry-After longer than maxRetryAfterMs', async () => {
    const { client, sleeps } = fake([text('c', 503, { 'retry-after': '600' })]);
    const e = await err(client.release('abc123'));
    expect([e.code, e.retry, sleeps]).toEqual(['busy', { kind: 'after', ms: 600_000 }, []]);
  });

  it('classifies connection errors, timeouts and cancellation', async () => {
    const refused = fake([new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) })]);
    const e1 = await err(refused.client.version());
    expect([e1.code, e1.retry, e1.message]).toEqual(['unreachable', { kind: 'backoff' }, 'MAAS at "http://maas.test:5240" is unreachable: ECONNREFUSED']);
    const hang: FetchLike = (_u, init) =>
      new Promise((_r, reject) => {
        if (init.signal?.aborted) reject(new DOMException('aborted', 'AbortError'));
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    const c = new MaasClient({ url: 'http://maas.test/MAAS', apiKey: KEY, fetch: hang, timeoutMs: 30 });
    const e2 = await err(c.version());
    expect([e2.code, e2.retry]).toEqual(['timeout', { kind: 'backoff' }]);
    const ac = new AbortController();
    const p = c.version({ signal: ac.signal, timeoutMs: 10_000 });
    ac.abort();
    expect((await err(p)).code).toBe('aborted');
  });

  it('resends a GET once when the server closed the kept-alive connection, never a POST', async () => {
    const closed = () => new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    const get = fake([closed(), json([machine])]);
    expect(await get.client.listMachines()).toHaveLength(1);
    expect(get.sent).toHaveLength(2);
    const post = fake([closed(), json(machine)]);
    expect((await err(post.client.release('abc123'))).code).toBe('unreachable');
    expect(post.sent).toHaveLength(1);
    const twice = fake([closed(), closed()]);
    expect((await err(twice.client.listMachines())).code).toBe('unreachable');
    expect(twice.sent).toHaveLength(2);
  });

  it('never repeats any part of the API key, even when MAAS echoes it', async () => {
    const { client } = fake([text("Authorization Error: 'Invalid access token: TOKENKEY0000000000' for CONSUMERKEY0000000", 401)]);
    const e = await err(client.whoami());
    expect(e.message).toBe("MAAS GET users/?op=whoami rejected the API key: Authorization Error: 'Invalid access token: ***' for ***");
  });
});
