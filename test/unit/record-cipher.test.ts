import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecordCipher, loadOrCreateKey } from '../../adapters/redis/record-cipher';

describe('record cipher (PHI at rest)', () => {
  const cipher = createRecordCipher(randomBytes(32));

  it('round-trips and never stores the plaintext', () => {
    const sealed = cipher.seal('{"phone":"+16175550123"}', 'op:1');
    expect(sealed.toString('latin1')).not.toContain('6175550123');
    expect(cipher.open(sealed, 'op:1')).toBe('{"phone":"+16175550123"}');
  });

  it('keeps a JSON record smaller than its plaintext', () => {
    const record = JSON.stringify({
      id: 'op_1',
      history: Array.from({ length: 4 }, (_v, i) => ({
        status: 'queued',
        at: '2026-11-27T10:00:00Z',
        attempt: i,
      })),
      payload: { kind: 'patient.update', changes: { phones: ['+16175550123'], email: 'a@example.org' } },
    });
    expect(cipher.seal(record, 'op:1').length).toBeLessThan(Buffer.byteLength(record));
  });

  it('round-trips records far larger than the compression window', () => {
    const large = JSON.stringify({ notes: Array.from({ length: 2000 }, (_v, i) => `note ${i} ${i * 7919}`) });
    expect(cipher.open(cipher.seal(large, 'op:big'), 'op:big')).toBe(large);
  });

  it('refuses a record moved under another key or tampered with', () => {
    const sealed = cipher.seal('secret', 'op:1');
    expect(() => cipher.open(sealed, 'op:2')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0xff;
    expect(() => cipher.open(tampered, 'op:1')).toThrow();
  });

  it('still opens records written in the earlier base64 text format', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const legacyCipher = createCipheriv('aes-256-gcm', key, iv);
    legacyCipher.setAAD(Buffer.from('op:1'));
    const body = Buffer.concat([legacyCipher.update('{"a":1}', 'utf8'), legacyCipher.final()]);
    const legacy = `v1.${Buffer.concat([iv, legacyCipher.getAuthTag(), body]).toString('base64')}`;
    expect(createRecordCipher(key).open(legacy, 'op:1')).toBe('{"a":1}');
    expect(createRecordCipher(key).open(Buffer.from(legacy), 'op:1')).toBe('{"a":1}');
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
