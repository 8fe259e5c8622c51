import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { storageReading } from '../../adapters/redis/memory-gauge';
import { loadConfig } from '../../src/config/load-config';
import { embeddedMaxMemoryBytes, queuedWritesCap } from '../../src/wiring/storage';

const at = new Date('2030-01-01T00:00:00Z');

describe('queued writes cap', () => {
  it("is the client's own, else its tenant's, else everyone's, from the storage section", () => {
    const cwd = mkdtempSync(join(tmpdir(), 'continuum-config-'));
    writeFileSync(
      join(cwd, 'continuum.config.yaml'),
      [
        'storage:',
        '  queuedWritesPerClient: 200',
        '  perTenant: { north: 50 }',
        '  perClient: { cl_000000000000000000000001: 5, cl_000000000000000000000002: 0 }',
      ].join('\n'),
    );
    const { storage } = loadConfig({ env: {}, cwd, builtInMappingsDir: '/mappings' });
    expect(queuedWritesCap(storage, { clientId: 'cl_000000000000000000000001', tenant: 'north' })).toBe(5);
    expect(queuedWritesCap(storage, { clientId: 'cl_000000000000000000000002', tenant: 'north' })).toBe(0);
    expect(queuedWritesCap(storage, { clientId: 'cl_000000000000000000000003', tenant: 'north' })).toBe(50);
    expect(queuedWritesCap(storage, { clientId: 'cl_000000000000000000000003', tenant: 'south' })).toBe(200);
  });

  it('defaults to 10 000 per client, a 10 % reserve, and no memory limit of its own', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'continuum-config-'));
    const { storage } = loadConfig({ env: {}, cwd, builtInMappingsDir: '/mappings' });
    expect(storage).toMatchObject({
      queuedWritesPerClient: 10_000,
      headroomPercent: 10,
      readIntervalMs: 1000,
    });
    expect(storage.maxMemoryBytes).toBeUndefined();
  });

  it("bounds the embedded Redis at half the machine's memory unless told a size", () => {
    const cwd = mkdtempSync(join(tmpdir(), 'continuum-config-'));
    const config = loadConfig({ env: {}, cwd, builtInMappingsDir: '/mappings' });
    expect(embeddedMaxMemoryBytes(config)).toBe(Math.floor(totalmem() / 2));
    const sized = loadConfig({
      env: {},
      cwd,
      builtInMappingsDir: '/mappings',
      overrides: { storage: { maxMemoryBytes: 256_000_000 } },
    });
    expect(embeddedMaxMemoryBytes(sized)).toBe(256_000_000);
  });
});

describe('storage reading', () => {
  const percent = { maxMemoryBytes: undefined, headroomBytes: undefined, headroomPercent: 10 };

  it('refuses writes once the headroom is within the reserve, not before', () => {
    expect(storageReading(899, 1000, percent, at)).toMatchObject({
      limitBytes: 1000,
      headroomBytes: 101,
      reservedBytes: 100,
      acceptingWrites: true,
    });
    expect(storageReading(900, 1000, percent, at)).toMatchObject({
      headroomBytes: 100,
      acceptingWrites: false,
    });
    expect(storageReading(1200, 1000, percent, at)).toMatchObject({
      headroomBytes: 0,
      acceptingWrites: false,
    });
  });

  it('uses the configured limit when Redis has none, and the lower of the two when both are set', () => {
    const configured = { ...percent, maxMemoryBytes: 500, headroomBytes: 50 };
    expect(storageReading(100, 0, configured, at)).toMatchObject({ limitBytes: 500, reservedBytes: 50 });
    expect(storageReading(100, 2000, configured, at)).toMatchObject({ limitBytes: 500 });
    expect(storageReading(100, 400, configured, at)).toMatchObject({ limitBytes: 400 });
  });

  it('refuses nothing without any limit', () => {
    expect(storageReading(10 ** 12, 0, percent, at)).toMatchObject({
      limitBytes: null,
      headroomBytes: null,
      acceptingWrites: true,
      readAt: at.toISOString(),
    });
  });
});
