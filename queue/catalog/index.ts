/** Every queue Continuum runs, described once. A new queue is a spec here and one worker file. */
import { eventJobs } from './event.jobs';
import { notificationJobs } from './notification.jobs';
import { writeJobs } from './write.jobs';

export { eventJobs, notificationJobs, writeJobs };
export type { EventJob } from './event.jobs';
export type { WriteJobData } from './write.jobs';

export const JOB_CATALOG = [writeJobs, notificationJobs, eventJobs] as const;
