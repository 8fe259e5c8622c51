import { createPhoneSearchWay } from '../../src/use-cases/phone-search-way';

describe('the way a phone search over several formats is sent', () => {
  it('keeps the configured way', () => {
    const way = createPhoneSearchWay({ mode: 'parallel' });
    way.record('combined', 1);
    expect([way.next(), way.next(), way.chosen()]).toEqual(['parallel', 'parallel', 'parallel']);
  });

  it('in auto, alternates until both ways are timed, then keeps the faster', () => {
    const told: unknown[] = [];
    const way = createPhoneSearchWay({ mode: 'auto', samples: 3, onChosen: (w, m) => told.push([w, m]) });
    const sent = Array.from({ length: 6 }, () => way.next());
    expect(sent).toEqual(['combined', 'parallel', 'combined', 'parallel', 'combined', 'parallel']);
    for (const ms of [400, 90, 420]) way.record('combined', ms);
    for (const ms of [120, 110, 500]) way.record('parallel', ms);
    expect(way.chosen()).toBe('parallel');
    expect(told).toEqual([['parallel', { combined: 400, parallel: 120 }]]);
    expect([way.next(), way.next()]).toEqual(['parallel', 'parallel']);
    way.record('combined', 1);
    expect(way.chosen()).toBe('parallel');
  });

  it('in auto, keeps the one query on a tie and while nothing is timed', () => {
    const way = createPhoneSearchWay({ mode: 'auto', samples: 1 });
    expect(way.chosen()).toBeUndefined();
    way.record('parallel', 50);
    expect(way.chosen()).toBeUndefined();
    way.record('combined', 50);
    expect(way.chosen()).toBe('combined');
  });
});
