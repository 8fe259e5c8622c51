/** Counts every call to an EHR and its duration by connection, FHIR interaction and outcome. */
import type { Metrics } from '../../src/domain/metrics';
import type { EhrCallObserver } from './observed-calls';

export function meteredCalls(connection: string, metrics: Metrics): EhrCallObserver {
  return (interaction, outcome, seconds) => {
    metrics.ehrCall(connection, interaction, outcome, seconds);
  };
}
