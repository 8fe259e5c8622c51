import { ContinuumError } from '../domain/errors';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export function resolveConnection(
  deps: Pick<UseCaseDeps, 'connections' | 'defaultConnection'>,
  name: string | undefined,
): ConnectionContext {
  const wanted = name ?? deps.defaultConnection;
  const found = deps.connections.get(wanted);
  if (!found) {
    throw new ContinuumError('VALIDATION', {
      detail: `connection: no EHR connection named "${wanted}"`,
      extra: { errors: [{ field: 'connection', message: 'unknown EHR connection' }] },
    });
  }
  return found;
}
