/**
 * The sample of real records behind the empty-field report: each connection's records read with
 * the candidate version of its profile, at start-up (in the background) and before a reload swaps.
 * Logged with field names only.
 */
import type { Config } from '../config/load-config';
import type { MappingProfile } from '../domain/mapping-profile';
import type { Logger } from '../domain/ports';
import { sampleMappedFields } from '../use-cases/mapping-samples';
import type { ConnectionContext } from '../use-cases/use-case-deps';
import type { ProfileSampler, SampleReport } from './mapping-catalog';

export function connectionSampler(
  config: Config,
  connections: ReadonlyMap<string, ConnectionContext>,
  logger: Logger,
): ProfileSampler {
  const count = config.mappings.sampleRecords;
  return async (profiles: ReadonlyMap<string, MappingProfile>): Promise<SampleReport> => {
    if (count === 0) return { findings: [], problems: [] };
    const outcomes = await Promise.all(
      [...connections.values()].map(async (connection) => {
        const name = config.connections[connection.name]?.mappingProfile;
        const profile = name === undefined ? undefined : profiles.get(name);
        if (profile === undefined) return { findings: [], problems: [], profile: null };
        const outcome = { ...(await sampleMappedFields(connection, profile, count)), profile: profile.name };
        if (outcome.skipped !== undefined) {
          logger.info(
            { connection: connection.name, mappingProfile: profile.name, reason: outcome.skipped },
            'mapping profile not checked on real records: sampling skipped',
          );
        } else if (outcome.findings.length > 0) {
          logger.warn(
            {
              connection: connection.name,
              mappingProfile: profile.name,
              mappingHash: profile.hash,
              emptyFields: outcome.findings.map(
                (finding) => `${finding.file} ${finding.rule} (${finding.sampled} records)`,
              ),
            },
            'read fields empty on every sampled record: the profile may not match this EHR',
          );
        } else {
          // Said even when all is well, so "no finding" is told apart from "not checked yet".
          logger.info(
            {
              connection: connection.name,
              mappingProfile: profile.name,
              mappingHash: profile.hash,
              sampled: outcome.sampled,
            },
            'mapping profile checked on sampled records: no read field empty on all of them',
          );
        }
        return {
          findings: outcome.findings,
          problems: outcome.problems.map((message) => ({
            message,
            profile: profile.name,
            connection: connection.name,
          })),
        };
      }),
    );
    return {
      findings: outcomes.flatMap((outcome) => outcome.findings),
      problems: outcomes.flatMap((outcome) => outcome.problems),
    };
  };
}
