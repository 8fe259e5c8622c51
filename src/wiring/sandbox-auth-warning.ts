/**
 * A built-in sandbox that requires OAuth refuses a connection that does not sign in like a client
 * of an OAuth EHR: said once at start-up, naming the connections, rather than discovered as 401s.
 */
import type { Config } from '../config/load-config';
import type { Logger } from '../domain/ports';

export function warnOfSandboxConnectionsWithoutOAuth(config: Config, logger: Logger): void {
  if (!config.sandbox.enabled || config.sandbox.auth.mode === 'none') return;
  const unsigned = Object.values(config.connections)
    .filter((c) => c.sandbox && ['none', 'basic', 'bearer'].includes(c.auth.type))
    .map((c) => c.name);
  if (unsigned.length === 0) return;
  logger.warn(
    { connections: unsigned, sandboxAuthMode: config.sandbox.auth.mode },
    'the built-in sandbox EHR requires OAuth tokens (sandbox.auth.mode), which these connections do not obtain: the sandbox will answer them 401',
  );
}
