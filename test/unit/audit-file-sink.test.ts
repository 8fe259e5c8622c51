import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditFileSink } from '../../adapters/audit/file-sink';
import type { StoredAuditRecord } from '../../src/domain/audit';

const stored = (i: number): StoredAuditRecord => ({
  id: `gateway-a/${1_700_000_000_000 + i}-0`,
  record: {
    recorded: new Date(1_700_000_000_000 + i).toISOString(),
    kind: 'patient.read',
    action: 'R',
    subtype: 'read',
    outcome: 0,
    channel: 'api',
    client: 'cl_sink',
    tenant: 'north',
    source: 'gateway-a',
    patients: [`Patient/pat-${i}`],
  },
});

describe('audit file copy', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'continuum-audit-sink-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every record as one AuditEvent line, in order, rotating past maxBytes and keeping `keep` files', async () => {
    const errors: unknown[] = [];
    const path = join(dir, 'audit.ndjson');
    const sink = createAuditFileSink({ path, maxBytes: 2048, keep: 2, onError: (e) => errors.push(e) });
    // Written one flush at a time, as batches reach it: each flush may rotate.
    for (let i = 0; i < 40; i++) {
      sink.write(stored(i));
      if (i % 4 === 3) await sink.flush();
    }
    await sink.flush();
    expect(errors).toEqual([]);

    const files = readdirSync(dir).sort();
    const rotated = files.filter((f) => f !== 'audit.ndjson');
    expect(rotated).toHaveLength(2);
    for (const name of files) {
      // A file grows past maxBytes only by the one flush that would not fit in a fresh file.
      expect(readFileSync(join(dir, name)).length).toBeLessThan(2048 * 2);
    }
    // The newest lines, in order, across the kept files: nothing duplicated or reordered.
    const lines = [...rotated, 'audit.ndjson']
      .flatMap((name) => readFileSync(join(dir, name), 'utf8').trim().split('\n'))
      .map((line) => JSON.parse(line) as { resourceType: string; entity: { what: { reference: string } }[] });
    for (const event of lines) expect(event.resourceType).toBe('AuditEvent');
    const patients = lines.map((e) => Number(e.entity[0]?.what.reference.replace('Patient/pat-', '')));
    expect(patients).toEqual([...patients].sort((a, b) => a - b));
    expect(patients.at(-1)).toBe(39);
    expect(new Set(patients).size).toBe(patients.length);
  });

  it('tells of a file it cannot write, and keeps going', async () => {
    const errors: unknown[] = [];
    const sink = createAuditFileSink({
      path: join(dir, 'missing-dir', 'audit.ndjson'),
      maxBytes: 2048,
      keep: 2,
      onError: (e) => errors.push(e),
    });
    sink.write(stored(1));
    await sink.flush();
    expect(errors).toHaveLength(1);
  });
});
