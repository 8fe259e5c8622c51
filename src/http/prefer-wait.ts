/** `Prefer: wait=N` (RFC 7240), capped so no caller can pin a connection for long. */
import type { Request } from 'express';

const MAX_WAIT_SECONDS = 30;

export function preferredWaitSeconds(req: Request): number | undefined {
  const header = req.get('prefer');
  if (header === undefined) return undefined;
  const match = /(?:^|[;,\s])wait\s*=\s*(\d+(?:\.\d+)?)/i.exec(header);
  if (!match?.[1]) return undefined;
  return Math.min(MAX_WAIT_SECONDS, Number(match[1]));
}
