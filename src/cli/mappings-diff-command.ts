/**
 * `continuum mappings diff <hashA> <hashB>`: what changed between two stored mapping profile
 * versions, a unified diff per file. The versions live in the gateway's Redis; the command asks the
 * gateway (GET /v1/mappings/diff) like `continuum ops`, so it needs an API key with mappings:write
 * and no Redis credentials of its own.
 */
import { parseArgs, styleText } from 'node:util';
import type { MappingVersionDiff } from '../use-cases/mapping-versions';
import { apiKey } from './ops-command';

export const MAPPINGS_DIFF_USAGE = `Usage:
  continuum mappings diff HASH_A HASH_B [--url URL] [--key KEY]
    what changed from version A to version B, a unified diff per file; a hash may be its first 12
    digits or more, as logs and GET /v1/status show it
Options: --url http://host:port (default http://127.0.0.1:$PORT or :8080),
  --key KEY (default: $CONTINUUM_API_KEY, else the admin key file of this directory's gateway).`;

export interface MappingsDiffIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Colour the diff (a terminal that is not told NO_COLOR). */
  readonly colour: boolean;
}

interface Problem {
  readonly code?: string;
  readonly detail?: string;
}

function colourLine(line: string): string {
  if (line.startsWith('+++') || line.startsWith('---')) return styleText('bold', line);
  if (line.startsWith('@@')) return styleText('cyan', line);
  if (line.startsWith('+')) return styleText('green', line);
  if (line.startsWith('-')) return styleText('red', line);
  return line;
}

/** Prints the diff; answers the exit code: 0 shown, 1 refused (unknown hash, no access), 2 usage. */
export async function mappingsDiffCommand(
  args: string[],
  adminKeyFile: () => string | undefined,
  io: MappingsDiffIo,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? '8080'}` },
      key: { type: 'string' },
    },
  });
  const [from, to, ...extra] = positionals;
  if (from === undefined || to === undefined || extra.length > 0) {
    io.err(`continuum: mappings diff takes two profile hashes\n${MAPPINGS_DIFF_USAGE}\n`);
    return 2;
  }
  const key = apiKey(values.key, adminKeyFile);
  const base = values.url.replace(/\/+$/, '');
  const query = new URLSearchParams({ from, to });
  const res = await fetch(`${base}/v1/mappings/diff?${query.toString()}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const body = (await res.json().catch(() => ({}))) as MappingVersionDiff & Problem;
  if (!res.ok) {
    const why = body.detail ?? res.statusText;
    io.err(
      res.status === 404
        ? `continuum: ${why} (GET /v1/status shows the running hashes; receipts show the one each write used)\n`
        : `continuum: the gateway refused the diff: ${res.status} ${body.code ?? ''}: ${why}\n`,
    );
    return 1;
  }
  const head = (v: MappingVersionDiff['from']): string =>
    `${v.name} ${v.hash.slice(0, 12)} (stored ${v.storedAt})`;
  io.out(`${head(body.from)} -> ${head(body.to)}\n`);
  if (body.files.length === 0) {
    io.out('no file differs\n');
    return 0;
  }
  for (const file of body.files) {
    const text = file.diff.endsWith('\n') ? file.diff : `${file.diff}\n`;
    io.out(io.colour ? text.split('\n').map(colourLine).join('\n') : text);
  }
  return 0;
}
