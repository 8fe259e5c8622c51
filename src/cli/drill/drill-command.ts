/**
 * `continuum drill run`: rehearse a crisis against a gateway and write its report. Resolves with the
 * exit code: 0 the drill ran and every accepted write is in the EHR once, 1 it did not hold, 2 usage.
 */
import { resolve } from 'node:path';
import { drillPassed, type DrillReport } from './drill-report';
import { writeDrillReport } from './write-report';
import { DRILL_USAGE, DrillUsageError, parseDrillOptions } from './drill-options';
import { DrillSeedError } from './drill-seed';
import { remoteTarget, startInProcessTarget, type DrillTarget } from './drill-target';
import { startEventReceiver, type EventReceiver } from './event-receiver';
import { runDrill } from './run-drill';

export { DRILL_USAGE };

export interface DrillIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** The closure's figures as the EHR shows them, in one line. */
function closureLine(report: DrillReport): string {
  const c = report.closure?.check;
  if (report.closure === undefined) return '';
  if (c === undefined) return `closure: not checked (${report.closure.note ?? 'not submitted'})\n`;
  return (
    `closure ${report.closure.id ?? ''} of ${report.closure.location ?? ''}: appointments ${c.appointments}, ` +
    `changed once ${c.changedOnce}, already as wanted ${c.alreadyAsWanted}, duplicates ${c.duplicates}, ` +
    `unchanged ${c.unchanged}, ` +
    `outside scope ${c.outsideScope}; callbacks ${c.callbacks} for ${c.patients} patients ` +
    `(one each ${c.patientsWithOneCallback}, none ${c.patientsWithoutCallback}, several ${c.patientsWithSeveralCallbacks})\n`
  );
}

export async function drillCommand(args: readonly string[], io: DrillIo): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    io.out(`${DRILL_USAGE}\n`);
    return action === undefined ? 2 : 0;
  }
  if (action !== 'run') {
    io.err(`unknown drill action: ${action}\n${DRILL_USAGE}\n`);
    return 2;
  }
  let options;
  try {
    options = parseDrillOptions(rest, io.env, io.cwd);
  } catch (error) {
    if (!(error instanceof DrillUsageError)) throw error;
    io.err(`${error.message}\n${DRILL_USAGE}\n`);
    return 2;
  }
  const say = (line: string) => {
    io.err(`drill: ${line}\n`);
  };
  let receiver: EventReceiver | undefined;
  let target: DrillTarget | undefined;
  let restoreStaged: (() => Promise<void>) | undefined;
  // A drill stopped by Ctrl-C or a scheduler must not leave a staging EHR down or its credentials
  // revoked: what it staged is ended before the process goes.
  const onSignal = (signal: NodeJS.Signals): void => {
    say(`${signal}: ending what the drill staged before stopping`);
    void (async () => {
      await restoreStaged?.().catch(() => undefined);
      await target?.close().catch(() => undefined);
      await receiver?.close().catch(() => undefined);
      process.exit(130);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (options.url === undefined) {
      receiver = await startEventReceiver();
      say('starting a gateway on its embedded defaults with the built-in sandbox EHR');
      target = await startInProcessTarget({ redisUrl: io.env.REDIS_URL, subscriber: receiver });
    } else {
      target = remoteTarget(options.url, options.key ?? '');
    }
    say(
      `${options.scenario} drill against ${target.url} for ${Math.round(options.wallMs / 1000)}s at ${options.rate} calls/s`,
    );
    const report = await runDrill({
      ...options,
      target,
      receiver,
      say,
      onStaged: (restore) => {
        restoreStaged = restore;
      },
    });
    const files = writeDrillReport(report, resolve(io.cwd, options.outDir));
    const w = report.writes;
    io.out(
      `${report.calls.total} calls, ${w.accepted} writes accepted, ${w.landedOnce} in the EHR once; ` +
        `lost ${w.lost}, duplicated ${w.duplicated}` +
        `${w.notDrained > 0 ? `; ${w.notDrained} still queued when the drill stopped waiting` : ''}\n` +
        closureLine(report) +
        `report: ${files.html}\n        ${files.json}\n`,
    );
    return drillPassed(report) ? 0 : 1;
  } catch (error) {
    if (error instanceof DrillSeedError) {
      io.err(`drill: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await target?.close();
    await receiver?.close();
  }
}
