import { Closeables } from '../../src/wiring/closeables';
import { createLogger } from '../../src/observability/logger';
import { captureLogs } from '../support/log-capture';

describe('Closeables', () => {
  it('closes by phase (no new work first, Redis last), the latest registered first within a phase', async () => {
    const logs = captureLogs();
    const closeables = new Closeables(createLogger({ level: 'info', destination: logs.stream }));
    const closed: string[] = [];
    const add = (phase: Parameters<Closeables['add']>[0], name: string) => {
      closeables.add(phase, name, () => {
        closed.push(name);
        return Promise.resolve();
      });
    };
    add('embedded-redis', 'embedded redis');
    add('redis', 'redis');
    add('intake', 'http');
    add('queues', 'event queues');
    add('queues', 'write queues');
    add('work', 'workers');
    add('intake', 'timers');
    expect(closeables.order()).toEqual([
      'timers',
      'http',
      'workers',
      'write queues',
      'event queues',
      'redis',
      'embedded redis',
    ]);
    await closeables.closeAll();
    expect(closed).toEqual(closeables.order());
  });

  it('goes on past a failing step, logs it, and closes once however often it is asked', async () => {
    const logs = captureLogs();
    const closeables = new Closeables(createLogger({ level: 'info', destination: logs.stream }));
    const closed: string[] = [];
    closeables.add('intake', 'http', () => Promise.reject(new Error('socket hang up')));
    closeables.add('redis', 'redis', () => {
      closed.push('redis');
      return Promise.resolve();
    });
    await Promise.all([closeables.closeAll(), closeables.closeAll()]);
    await closeables.closeAll();
    expect(closed).toEqual(['redis']);
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({ step: 'http', msg: 'error during shutdown' }),
    );
  });
});
