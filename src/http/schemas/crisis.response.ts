/** What the crisis routes answer; for the OpenAPI document and tests only. */
import { z } from 'zod';
import { ACTIVATION_KINDS, ACTIVATION_STATUSES } from '../../domain/activation';
import type { ActivationView } from '../../use-cases/crisis-activations';
import type { NoticeList } from '../../use-cases/crisis-notices';
import type { Conforms } from './conforms';
import { writeReceiptSchema } from './receipt.response';

export const activationSchema = z.object({
  id: z.string(),
  kind: z.enum(ACTIVATION_KINDS),
  title: z.string(),
  locations: z.array(z.string()),
  connection: z.string().nullable(),
  message: z.string(),
  startsAt: z.string(),
  endsAt: z.string().nullable(),
  status: z
    .enum(ACTIVATION_STATUSES)
    .describe('Derived from the clock: scheduled before startsAt, ended after endsAt or once ended'),
  createdAt: z.string(),
  createdBy: z.string().describe('The client id that declared it'),
  endedAt: z.string().nullable(),
  endedBy: z.string().nullable().describe('The client id that ended it by hand'),
});

export const activationListSchema = z.object({
  count: z.number().int(),
  activations: z.array(activationSchema),
});

export const noticeListSchema = z.object({
  active: z.boolean().describe('Whether any notice applies: what an IVR branches on'),
  count: z.number().int(),
  notices: z.array(
    z.object({
      id: z.string(),
      activationId: z.string(),
      kind: z.enum(ACTIVATION_KINDS),
      title: z.string(),
      message: z.string(),
      locations: z.array(z.string()),
      startsAt: z.string(),
      endsAt: z.string().nullable(),
    }),
  ),
  freshness: z
    .object({ source: z.literal('continuum'), asOf: z.string() })
    .describe("Continuum's own records: the same answer whether or not the EHR is up"),
});

export const callbackRequestReceiptSchema = writeReceiptSchema.extend({
  window: z.object({ start: z.string(), end: z.string() }).describe('When the patient will be called'),
  numberFrom: z
    .enum(['request', 'record', 'cache'])
    .describe("The number's source: the request, the EHR's record, or its cached copy while the EHR is down"),
  phoneEnding: z.string().describe('Its last four digits, to read back to the caller'),
});

export const activationConforms: Conforms<ActivationView, typeof activationSchema> = true;
export const noticeListConforms: Conforms<NoticeList, typeof noticeListSchema> = true;
