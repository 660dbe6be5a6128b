import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../../src/cli/secrets.js';

describe('createSecretResolver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gough-secrets-'));
  writeFileSync(join(dir, 'bmc.env'), 'IPMI_USER=admin\nIPMI_PASSWORD="s3cr3t-pw"\n');
  writeFileSync(join(dir, 'key'), 'abc:def:ghi\n');
  const resolve = createSecretResolver({ MAAS_KEY: 'ck:tk:ts' });

  it('reads env, whole files and keyed lines', async () => {
    expect(await resolve({ env: 'MAAS_KEY' })).toBe('ck:tk:ts');
    expect(await resolve({ file: join(dir, 'key') })).toBe('abc:def:ghi');
    expect(await resolve({ file: join(dir, 'bmc.env'), key: 'IPMI_PASSWORD' })).toBe('s3cr3t-pw');
  });

  it('names the reference, never a value, when missing', async () => {
    await expect(resolve({ env: 'NOPE' })).rejects.toMatchObject({ code: 'secret-missing', message: 'Secret env:NOPE is not set' });
    const err = (await resolve({ file: join(dir, 'bmc.env'), key: 'OTHER' }).catch((e: unknown) => e)) as Error;
    expect(String(err.message)).not.toContain('s3cr3t');
  });
});
