import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { loadOrCreateSigningKey, signingKeyFile } from '../../adapters/auth/signing-keys';

describe('the gateway signing key', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'continuum-signing-keys-'));
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is created on first use, readable by its owner only, as a private JWK with kid, alg and use', async () => {
    const key = await loadOrCreateSigningKey(dataDir);
    const file = signingKeyFile(dataDir);

    expect(file).toBe(join(dataDir, 'keys', 'oauth-signing.jwk.json'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(stored).toMatchObject({ kty: 'EC', crv: 'P-256', kid: key.kid, alg: 'ES256', use: 'sig' });
    expect(typeof stored.d).toBe('string');
    // What is published holds no private part.
    expect(key.publicJwk).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: stored.x,
      y: stored.y,
      kid: key.kid,
      alg: 'ES256',
      use: 'sig',
    });
    expect(readdirSync(dirname(file))).toEqual(['oauth-signing.jwk.json']);
  });

  it('is reused on the next start: same kid, and what one signed the other verifies', async () => {
    const first = await loadOrCreateSigningKey(dataDir);
    const before = readFileSync(signingKeyFile(dataDir), 'utf8');
    const second = await loadOrCreateSigningKey(dataDir);

    expect(second.kid).toBe(first.kid);
    expect(readFileSync(signingKeyFile(dataDir), 'utf8')).toBe(before);
    const token = await new SignJWT({ n: 1 }).setProtectedHeader({ alg: 'ES256' }).sign(first.privateKey);
    await expect(jwtVerify(token, second.publicKey)).resolves.toMatchObject({ payload: { n: 1 } });
  });

  it('is one key when several processes start at once in an empty data directory', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(dataDir)));

    const stored = JSON.parse(readFileSync(signingKeyFile(dataDir), 'utf8')) as { kid: string };
    expect(new Set(keys.map((key) => key.kid))).toEqual(new Set([stored.kid]));
    // Every loser cleaned up after itself: no temporary files are left beside the key.
    expect(readdirSync(dirname(signingKeyFile(dataDir)))).toEqual(['oauth-signing.jwk.json']);
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(keys[3]!.privateKey);
    await Promise.all(keys.map((key) => expect(jwtVerify(token, key.publicKey)).resolves.toBeDefined()));
  });

  it('refuses a key file that is not a private P-256 key rather than replacing it', async () => {
    const file = signingKeyFile(dataDir);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid: 'k' }));

    await expect(loadOrCreateSigningKey(dataDir)).rejects.toThrow(/not a private P-256 key/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: 'AA',
      y: 'AA',
      kid: 'k',
    });
  });
});
