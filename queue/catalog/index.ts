/** Every queue Continuum runs, described once: one spec file per queue, exported from here. */
export { eventJobs } from './event.jobs';
export { notificationJobs } from './notification.jobs';
export { writeJobs } from './write.jobs';
export type { EventJob } from './event.jobs';
export type { WriteJobData } from './write.jobs';
export { closureJobs } from './closure.jobs';
export type { ClosureJob } from './closure.jobs';
