import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecordCipher, loadOrCreateKey } from '../../adapters/redis/record-cipher';

describe('record cipher (PHI at rest)', () => {
  const cipher = createRecordCipher(randomBytes(32));

  it('round-trips and never stores the plaintext', () => {
    const sealed = cipher.seal('{"phone":"+16175550123"}', 'op:1');
    expect(sealed).not.toContain('6175550123');
    expect(cipher.open(sealed, 'op:1')).toBe('{"phone":"+16175550123"}');
  });

  it('refuses a record moved under another key or tampered with', () => {
    const sealed = cipher.seal('secret', 'op:1');
    expect(() => cipher.open(sealed, 'op:2')).toThrow();
    const tampered = `${sealed.slice(0, -4)}AAAA`;
    expect(() => cipher.open(tampered, 'op:1')).toThrow();
  });

  it('blinds lookup values deterministically per key', () => {
    expect(cipher.blind('+16175550123')).toBe(cipher.blind('+16175550123'));
    expect(cipher.blind('+16175550123')).not.toBe(createRecordCipher(randomBytes(32)).blind('+16175550123'));
  });

  it('generates a key once under the data directory, readable only by its owner', () => {
    const dir = mkdtempSync(join(tmpdir(), 'continuum-key-'));
    const first = loadOrCreateKey(undefined, dir);
    expect(loadOrCreateKey(undefined, dir).equals(first)).toBe(true);
    expect(statSync(join(dir, 'keys', 'record.key')).mode & 0o777).toBe(0o600);
  });
});
