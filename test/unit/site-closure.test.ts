import { closingWindow } from '../../src/domain/closure';
import { localTime, spokenTime } from '../../src/domain/local-time';
import { withoutClosedSites } from '../../src/use-cases/closed-sites';
import { closureId, summarise } from '../../src/use-cases/site-closure';
import type { ClosureRequest, ClosureTarget } from '../../src/domain/closure';
import type { SlotModel } from '../../src/domain/slot';

const request: ClosureRequest = {
  connection: 'sandbox',
  locations: ['loc-0002', 'loc-0001'],
  from: '2026-12-07T00:00:00Z',
  to: '2026-12-10T00:00:00Z',
  action: 'convert-to-virtual',
  mode: 'video',
  reason: 'Storm: the clinic is closed',
  cancellationReason: 'weather',
  callback: { priority: 'urgent', window: undefined },
  activationId: undefined,
};

const target = (
  id: string,
  patient: string,
  start: string,
  location: string,
  practitioner?: string,
): ClosureTarget => ({
  appointmentId: id,
  patientId: patient,
  start,
  end: undefined,
  location: { id: location },
  practitioner: practitioner === undefined ? undefined : { id: practitioner },
  mode: 'in-person',
});

describe('site closures', () => {
  it('gives the same closure the same id, whatever the order of its locations or the form of its instants', () => {
    const id = closureId('default', request);
    expect(id).toMatch(/^clo_[a-f0-9]{24}$/);
    expect(
      closureId('default', {
        ...request,
        locations: ['loc-0001', 'loc-0002'],
        from: '2026-12-06T19:00:00-05:00',
      }),
    ).toBe(id);
    expect(closureId('default', { ...request, reason: 'other', mode: 'phone' })).toBe(id);
    expect(closureId('south', request)).not.toBe(id);
    expect(closureId('default', { ...request, action: 'cancel' })).not.toBe(id);
  });

  it('counts a dry run by the local day the EHR wrote, by location and by practitioner', () => {
    const plan = summarise(
      [
        target('a1', 'p1', '2026-12-07T19:30:00-05:00', 'loc-0001', 'pr-1'),
        target('a2', 'p1', '2026-12-08T09:00:00-05:00', 'loc-0002', 'pr-1'),
        target('a3', 'p2', '2026-12-08T10:00:00-05:00', 'loc-0002'),
      ],
      { 'loc-0002': 'Dorchester' },
    );
    expect(plan).toMatchObject({
      appointments: 3,
      patients: 2,
      byDay: [
        { date: '2026-12-07', count: 1 },
        { date: '2026-12-08', count: 2 },
      ],
      byLocation: [
        { location: 'loc-0001', name: null, count: 1 },
        { location: 'loc-0002', name: 'Dorchester', count: 2 },
      ],
      byPractitioner: [
        { practitioner: 'none', count: 1 },
        { practitioner: 'Practitioner/pr-1', count: 2 },
      ],
      patientRefs: ['Patient/p1', 'Patient/p2'],
    });
  });

  it('says a visit time as the clinic clock shows it, and UTC only when the EHR wrote UTC', () => {
    expect(localTime('2026-12-08T09:05:00-05:00')).toEqual({
      date: '2026-12-08',
      time: '09:05',
      offset: '-05:00',
      day: 'Tuesday 8 December',
    });
    expect(spokenTime('2026-12-08T09:05:00-05:00')).toBe('Tuesday 8 December 09:05');
    expect(spokenTime('2026-12-08T14:05:00.000Z')).toBe('Tuesday 8 December 14:05 UTC');
  });

  it('hides in-person visits at a closed site, inside its window only', () => {
    const windows = [{ closureId: 'clo_x', locations: ['loc-0001'], from: request.from, to: request.to }];
    const slot = (id: string, location: string, start: string, modes: SlotModel['modes']): SlotModel =>
      ({ id, location: { id: location }, start, modes }) as unknown as SlotModel;
    const open = withoutClosedSites(
      [
        slot('s1', 'loc-0001', '2026-12-08T10:00:00-05:00', ['in-person', 'video']),
        slot('s2', 'loc-0001', '2026-12-08T11:00:00-05:00', ['in-person']),
        slot('s3', 'loc-0002', '2026-12-08T10:00:00-05:00', ['in-person']),
        slot('s4', 'loc-0001', '2026-12-10T10:00:00-05:00', ['in-person']),
      ],
      windows,
    );
    expect(open.map((s) => [s.id, s.modes])).toEqual([
      ['s1', ['video']],
      ['s3', ['in-person']],
      ['s4', ['in-person']],
    ]);
    expect(closingWindow(windows, 'loc-0001', '2026-12-09T23:59:00Z')?.closureId).toBe('clo_x');
    expect(closingWindow(windows, 'loc-0001', '2026-12-10T00:00:00Z')).toBeUndefined();
  });
});
