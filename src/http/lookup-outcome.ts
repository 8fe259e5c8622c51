/**
 * What a lookup found, left on `res.locals` by the lookup route for the rate-limit middleware to
 * read when the answer has gone: only a lookup the EHR itself answered with nobody counts towards
 * scanning (one answered from the cache during an outage says nothing about the number).
 */
import type { Response } from 'express';

export interface LookupOutcome {
  /** The number as the lookup read it (E.164): handed to the miss log, which keeps only a hash. */
  readonly phone: string;
  readonly found: boolean;
  readonly answeredBy: 'ehr' | 'cache';
}

export function noteLookupOutcome(res: Response, outcome: LookupOutcome): void {
  res.locals.lookupOutcome = outcome;
}

export function lookupOutcomeOf(res: Response): LookupOutcome | undefined {
  return res.locals.lookupOutcome as LookupOutcome | undefined;
}
