/**
 * The profile version a queued write applies with: the one it was accepted under, even after a
 * reload, so what an agent was told the write would do is what reaches the EHR. A write accepted
 * before versions were stored (or one whose version no longer compiles) applies with the running
 * version, and the log says so.
 */
import type { MappingProfile } from '../domain/mapping-profile';
import type { Operation } from '../domain/operation';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export async function pinnedProfile(
  deps: Pick<UseCaseDeps, 'mappingCatalog' | 'logger'>,
  connection: Pick<ConnectionContext, 'mapping'>,
  op: Pick<Operation, 'id' | 'mappingProfile' | 'mappingHash'>,
): Promise<MappingProfile> {
  const running = connection.mapping;
  if (op.mappingHash === running.hash && op.mappingProfile === running.name) return running;
  // A Redis failure here is thrown: the write is retried, never sent with a version it was not accepted under.
  const pinned = await deps.mappingCatalog.version(op.mappingProfile, op.mappingHash);
  // By name too: the same files stored for another profile would name that profile in a review cause.
  if (pinned !== undefined && pinned.name === op.mappingProfile) return pinned;
  deps.logger.warn(
    {
      operationId: op.id,
      mappingProfile: op.mappingProfile,
      mappingHash: op.mappingHash,
      runningHash: running.hash,
    },
    'the profile version this write was accepted under is not stored; it applies with the running version',
  );
  return running;
}

/**
 * The connection with its running profile read once. `connection.mapping` follows reloads, so a
 * request that read it twice could check a reason under one version and pin its write to the
 * next; everything one request does goes by this snapshot instead.
 */
export function withRunningProfile(connection: ConnectionContext): ConnectionContext {
  const mapping = connection.mapping;
  return { ...connection, mapping, phoneRegion: mapping.phoneRegion };
}

/** The connection as the use cases see it, with the write's own profile version. */
export function withProfile(connection: ConnectionContext, mapping: MappingProfile): ConnectionContext {
  if (mapping === connection.mapping) return connection;
  return { ...connection, mapping, phoneRegion: mapping.phoneRegion };
}
