/** The EHR signing keys on disk, their states over a rotation, and the keys an operator brings. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, jwtVerify } from 'jose';
import { signClientAssertion } from '../../adapters/ehr/oauth/client-assertion';
import {
  createEhrKey,
  ehrKeyStates,
  readEhrKeys,
  rotateEhrKeys,
} from '../../adapters/ehr/oauth/ehr-key-store';
import { importEhrSigningKey, PrivateKeyError } from '../../adapters/ehr/oauth/private-key';

let dir: string;
beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'continuum-ehr-keys-')), 'keys', 'ehr');
});
afterEach(() => {
  rmSync(join(dir, '..', '..'), { recursive: true, force: true });
});

const HOUR = 3600_000;

it('rotates: the new key signs, the old one stays published for the overlap, then is retired and removed', async () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const first = await createEhrKey(dir, 'ES384', t0);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  for (const file of readdirSync(dir)) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);

  const t1 = new Date(t0.getTime() + HOUR);
  const { created, superseded } = await rotateEhrKeys(dir, { overlapMs: 24 * HOUR, now: t1 });
  expect(created.map((k) => k.alg)).toEqual(['ES384']);
  expect(superseded.map((k) => k.kid)).toEqual([first.kid]);
  const second = created[0]!;

  const at = async (time: number) =>
    Object.fromEntries(ehrKeyStates(await readEhrKeys(dir), time).map((k) => [k.record.kid, k.state]));
  expect(await at(t1.getTime() + HOUR)).toEqual({ [second.kid]: 'active', [first.kid]: 'published' });
  expect(await at(t1.getTime() + 25 * HOUR)).toEqual({ [second.kid]: 'active', [first.kid]: 'retired' });

  // The next rotation, past the overlap, removes the retired key's file: no private key lingers.
  await rotateEhrKeys(dir, { overlapMs: 0, now: new Date(t1.getTime() + 26 * HOUR) });
  const kids = (await readEhrKeys(dir)).map((k) => k.kid);
  expect(kids).not.toContain(first.kid);
  expect(kids).toContain(second.kid);
});

it('keeps an active key per algorithm, and rotates only the one named', async () => {
  const es = await createEhrKey(dir, 'ES384');
  const rs = await createEhrKey(dir, 'RS384');
  const { superseded } = await rotateEhrKeys(dir, { algorithms: ['RS384'], overlapMs: HOUR });
  expect(superseded.map((k) => k.kid)).toEqual([rs.kid]);
  const states = ehrKeyStates(await readEhrKeys(dir));
  expect(states.find((k) => k.record.kid === es.kid)?.state).toBe('active');
  expect(
    states
      .filter((k) => k.state === 'active')
      .map((k) => k.record.alg)
      .sort(),
  ).toEqual(['ES384', 'RS384']);
});

it('signs assertions with an operator-supplied RSA PEM that verify with its published half', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const key = await importEhrSigningKey(pem, 'RS384', 'privateKeyFile');
  expect(Object.keys(key.publicJwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);

  const assertion = await signClientAssertion({
    clientId: 'app',
    tokenUrl: 'https://ehr.example.org/token',
    key,
  });
  const { payload, protectedHeader } = await jwtVerify(assertion, await importJWK(key.publicJwk, 'RS384'), {
    issuer: 'app',
    subject: 'app',
    audience: 'https://ehr.example.org/token',
  });
  expect(protectedHeader).toEqual({ alg: 'RS384', kid: key.kid, typ: 'JWT' });
  expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(300);
});

it('refuses a key that does not fit the algorithm, without quoting it', async () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'sec1', format: 'pem' })
    .toString();
  await expect(importEhrSigningKey(p256, 'ES384', 'privateKeyFile')).rejects.toThrow(
    'privateKeyFile: ES384 needs an EC P-384 private key',
  );
  const garbage = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-not-a-key';
  const error = await importEhrSigningKey(garbage, 'RS384', 'privateKey').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PrivateKeyError);
  expect((error as Error).message).toBe('privateKey: not a private key in PEM or JWK form');
});
