import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load-config';

function configIn(yaml: string | undefined, env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'continuum-verify-config-'));
  if (yaml !== undefined) writeFileSync(join(cwd, 'continuum.config.yaml'), yaml);
  return loadConfig({ env, cwd, builtInMappingsDir: '/mappings' });
}

describe('verify configuration', () => {
  it('defaults to 5 failed attempts per 15 minutes', () => {
    expect(configIn(undefined).verify).toEqual({
      maxFailedAttempts: 5,
      windowMinutes: 15,
      patientHold: { maxFailedAttempts: 10, windowSeconds: 900, holdSeconds: 600 },
    });
  });

  it('takes values from the file and the environment', () => {
    const config = configIn('verify:\n  maxFailedAttempts: ${VERIFY_MAX:-3}\n  windowMinutes: 60\n', {
      VERIFY_MAX: '8',
    });
    expect(config.verify).toMatchObject({ maxFailedAttempts: 8, windowMinutes: 60 });
  });

  it('names the key of a bad value', () => {
    try {
      configIn('verify:\n  maxFailedAttempts: 0\n  windowMinutes: soon\n  lockout: true\n');
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^verify\.maxFailedAttempts: /),
          expect.stringMatching(/^verify\.windowMinutes: /),
          'verify.lockout: unknown key',
        ]),
      );
    }
  });
});
