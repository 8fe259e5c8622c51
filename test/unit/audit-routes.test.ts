import { AUDITED_ROUTES } from '../../src/http/audit-routes';
import { ROUTE_TABLE, routeKey } from '../../src/http/route-table';

describe('AUDITED_ROUTES', () => {
  it('names every route of the table, and nothing else: no route is served unrecorded by omission', () => {
    const table = ROUTE_TABLE.map(routeKey).sort();
    expect(Object.keys(AUDITED_ROUTES).sort()).toEqual(table);
  });

  it('records every route of the patient-facing API (/v1 outside status, replay runs and subscribers)', () => {
    const unrecorded = ROUTE_TABLE.map(routeKey).filter(
      (key) => key.includes(' /v1/') && AUDITED_ROUTES[key] === 'not-phi',
    );
    expect(unrecorded.sort()).toEqual([
      // A site closure's progress: locations, window and counts, never a patient.
      'GET /v1/crisis/closures',
      'GET /v1/crisis/closures/:id',
      'GET /v1/events/subscribers',
      'GET /v1/operations/replay',
      'GET /v1/operations/replay/:replayId',
      'GET /v1/status',
      // Counts and breaker states per sampled interval: the console's chart.
      'GET /v1/status/history',
    ]);
  });
});
