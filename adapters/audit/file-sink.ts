/**
 * A copy of the audit trail as FHIR AuditEvent JSON lines in a file, for a log shipper or an
 * archive beyond Redis's retention. Lines are appended in order by one writer; past `maxBytes` the
 * file is renamed with a timestamp and a new one started, and only the newest `keep` rotated files
 * stay. It is a copy: Redis holds the record the API waited for, so a full disk here is logged,
 * not a refusal.
 */
import { appendFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { StoredAuditRecord } from '../../src/domain/audit';
import { toAuditEvent } from '../../src/domain/audit-event';

export interface AuditFileSinkOptions {
  readonly path: string;
  readonly maxBytes: number;
  readonly keep: number;
  readonly onError: (error: unknown) => void;
}

export interface AuditFileSink {
  write(record: StoredAuditRecord): void;
  /** Resolves once every line written so far is in the file. */
  flush(): Promise<void>;
}

export function createAuditFileSink(options: AuditFileSinkOptions): AuditFileSink {
  let lines: string[] = [];
  let size: number | undefined;
  let writing: Promise<void> | undefined;

  let rotations = 0;

  async function rotate(): Promise<void> {
    // Two rotations in one millisecond must not share a name: the second rename would replace the first.
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    rotations++;
    await rename(options.path, `${options.path}.${stamp}.${String(rotations).padStart(6, '0')}`);
    size = 0;
    const dir = dirname(options.path);
    const prefix = `${basename(options.path)}.`;
    const rotated = (await readdir(dir)).filter((name) => name.startsWith(prefix)).sort();
    for (const old of rotated.slice(0, Math.max(0, rotated.length - options.keep))) {
      await unlink(join(dir, old));
    }
  }

  async function drain(): Promise<void> {
    while (lines.length > 0) {
      const chunk = lines.join('');
      lines = [];
      try {
        size ??= await stat(options.path).then(
          (s) => s.size,
          () => 0,
        );
        if (size > 0 && size + chunk.length > options.maxBytes) await rotate();
        await appendFile(options.path, chunk, { mode: 0o600 });
        size += Buffer.byteLength(chunk);
      } catch (error) {
        options.onError(error);
      }
    }
    writing = undefined;
  }

  return {
    write(record) {
      lines.push(`${JSON.stringify(toAuditEvent(record.id, record.record))}\n`);
      writing ??= drain();
    },
    async flush() {
      while (writing !== undefined) await writing;
    },
  };
}
