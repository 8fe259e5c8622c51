/** /v1/appointments: bookings, through the durable write pipeline with receipts. */
import { Router } from 'express';
import { acceptAppointmentBooking } from '../../use-cases/accept-appointment-booking';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { bookingSchema } from '../schemas/booking.schema';
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
      );
      const parsed = bookingSchema.safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error);
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
  return router;
}
