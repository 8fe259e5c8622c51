/** /v1/appointments: book, cancel, confirm, reschedule, convert, hold; all through the durable write pipeline with receipts. */
import { Router, type Request, type Response } from 'express';
import { acceptAppointmentBooking } from '../../use-cases/accept-appointment-booking';
import {
  acceptAppointmentChange,
  acceptAppointmentReschedule,
} from '../../use-cases/accept-appointment-change';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { fhirIdParam } from '../query-params';
import {
  bookingSchema,
  cancelSchema,
  confirmSchema,
  convertSchema,
  holdSchema,
  rescheduleSchema,
} from '../schemas/booking.schema';
import { sendReceipt } from '../send-receipt';
import { zodToValidationError } from '../validation';
import { writeBody, writeContext } from '../write-context';

export function appointmentsRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  router.post(
    '/',
    route(async (req, res) => {
      const connection = resolveConnection(
        deps,
        typeof req.query.connection === 'string' ? req.query.connection : undefined,
        callerOf(res).tenant,
      );
      const parsed = bookingSchema.safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a booking');
      const { patientId, slotId, mode, appointmentType, reason } = parsed.data;
      const accepted = await acceptAppointmentBooking(deps, connection, writeContext(req, res), {
        patientId,
        slotId,
        mode,
        appointmentType,
        reason,
      });
      await sendReceipt(deps, req, res, accepted);
    }),
  );
  const appointmentId = (raw: unknown): string => fhirIdParam('id', raw);

  const connectionOf = (req: Request, res: Response) =>
    resolveConnection(
      deps,
      typeof req.query.connection === 'string' ? req.query.connection : undefined,
      callerOf(res).tenant,
    );

  // Cancel and confirm differ only in their body: a confirmation carries no reason.
  for (const [path, kind, schema, unknownField] of [
    ['/:id/cancel', 'appointment.cancel', cancelSchema, 'is not a field of a cancellation'],
    ['/:id/confirm', 'appointment.confirm', confirmSchema, 'is not a field of a confirmation'],
  ] as const) {
    router.post(
      path,
      route(async (req, res) => {
        const parsed = schema.safeParse(writeBody(req));
        if (!parsed.success) throw zodToValidationError(parsed.error, unknownField);
        const accepted = await acceptAppointmentChange(deps, connectionOf(req, res), writeContext(req, res), {
          kind,
          appointmentId: appointmentId(req.params.id),
          patientId: parsed.data.patientId,
          reason: (parsed.data as { readonly reason?: string }).reason,
        });
        await sendReceipt(deps, req, res, accepted);
      }),
    );
  }

  router.post(
    '/:id/convert',
    route(async (req, res) => {
      const parsed = convertSchema.safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a conversion');
      const accepted = await acceptAppointmentChange(deps, connectionOf(req, res), writeContext(req, res), {
        kind: 'appointment.convert',
        appointmentId: appointmentId(req.params.id),
        patientId: parsed.data.patientId,
        mode: parsed.data.mode,
        reason: parsed.data.reason,
      });
      await sendReceipt(deps, req, res, accepted);
    }),
  );

  router.post(
    '/:id/hold',
    route(async (req, res) => {
      const parsed = holdSchema.safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a hold');
      const accepted = await acceptAppointmentChange(deps, connectionOf(req, res), writeContext(req, res), {
        kind: 'appointment.hold',
        appointmentId: appointmentId(req.params.id),
        patientId: parsed.data.patientId,
        reason: parsed.data.reason,
      });
      await sendReceipt(deps, req, res, accepted);
    }),
  );

  router.post(
    '/:id/reschedule',
    route(async (req, res) => {
      const parsed = rescheduleSchema.safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a reschedule');
      const { slotId, patientId, mode, appointmentType, reason } = parsed.data;
      const accepted = await acceptAppointmentReschedule(
        deps,
        connectionOf(req, res),
        writeContext(req, res),
        {
          appointmentId: appointmentId(req.params.id),
          patientId,
          slotId,
          mode,
          appointmentType,
          reason,
        },
      );
      await sendReceipt(deps, req, res, accepted);
    }),
  );

  return router;
}
