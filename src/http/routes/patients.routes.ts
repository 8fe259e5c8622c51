/**
 * /v1/patients: caller lookup, demographics, corrections. Lookups that find nobody answer
 * `200 {"found": false}`: IVR flows branch on the body and send any 4xx to a failure path unread.
 */
import { Router } from 'express';
import { acceptPatientCreate } from '../../use-cases/accept-patient-create';
import { acceptPatientUpdate } from '../../use-cases/accept-patient-update';
import { lookupPatientsByPhone } from '../../use-cases/patient-lookup';
import { discloseIdsOnly } from '../../use-cases/lookup-disclosure';
import { listPatientAppointments } from '../../use-cases/patient-appointments';
import { readPatient } from '../../use-cases/patient-read';
import { patientSummary } from '../../use-cases/patient-summary';
import { tenantAppointments } from '../../use-cases/tenant-locations';
import { pendingPatientWrites } from '../../use-cases/pending-writes';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { noteLookupOutcome } from '../lookup-outcome';
import { fhirIdParam, text } from '../query-params';
import { sendReceipt } from '../send-receipt';
import { byRegion } from '../schemas/by-region';
import { lookupQuerySchema } from '../schemas/lookup-query.schema';
import { newPatientSchema, patientChangesSchema } from '../schemas/patient-changes.schema';
import { patientAppointmentsQuery, summaryQuery } from '../schemas/read-query.schema';
import { zodToValidationError } from '../validation';
import { ifMatchVersion, writeBody, writeContext } from '../write-context';

/** An appointment list without `to` covers this many days from `from`. */
const LIST_DAYS = 90;

function queryString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const patientId = (raw: string | undefined): string => fhirIdParam('id', raw);

export function patientsRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  const changesSchema = byRegion(patientChangesSchema);
  const registrationSchema = byRegion(newPatientSchema);
  const lookupSchema = byRegion(lookupQuerySchema);

  router.get(
    '/lookup',
    route(async (req, res) => {
      const connection = resolveConnection(deps, queryString(req.query.connection), callerOf(res).tenant);
      const query = lookupSchema(connection.phoneRegion).safeParse({ phone: text(req.query.phone) });
      if (!query.success) throw zodToValidationError(query.error, 'is not a lookup parameter');
      const result = await lookupPatientsByPhone(deps, connection, query.data.phone);
      noteLookupOutcome(res, {
        phone: result.phone,
        found: result.found,
        answeredBy: result.freshness.source,
      });
      res.json(callerOf(res).principal.scopes.has('patients:read') ? result : discloseIdsOnly(result));
    }),
  );

  router.get(
    '/:id',
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const connection = resolveConnection(deps, queryString(req.query.connection), tenant);
      const id = patientId(queryString(req.params.id));
      const model = await readPatient(
        deps,
        connection,
        id,
        pendingPatientWrites(deps, connection, id, tenant),
      );
      if (model.version !== undefined) res.setHeader('ETag', `W/"${model.version}"`);
      res.json(model);
    }),
  );

  router.get(
    '/:id/summary',
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const parsed = summaryQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a summary parameter');
      const connection = resolveConnection(deps, parsed.data.connection, tenant);
      const summary = await patientSummary(deps, connection, patientId(queryString(req.params.id)), {
        days: parsed.data.days,
        limit: parsed.data.limit,
        viewer: tenant,
      });
      if (summary.version !== undefined) res.setHeader('ETag', `W/"${summary.version}"`);
      res.json({
        ...summary,
        upcomingAppointments: tenantAppointments(tenant, summary.upcomingAppointments),
      });
    }),
  );

  router.get(
    '/:id/appointments',
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const parsed = patientAppointmentsQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not an appointment list parameter');
      const q = parsed.data;
      const connection = resolveConnection(deps, q.connection, tenant);
      const id = patientId(queryString(req.params.id));
      const from = q.from ?? deps.clock.now();
      const to = q.to ?? new Date(from.getTime() + LIST_DAYS * 86_400_000);
      const list = await listPatientAppointments(
        deps,
        connection,
        id,
        { from, to, statuses: q.status },
        pendingPatientWrites(deps, connection, id, tenant),
      );
      res.json({ ...list, appointments: tenantAppointments(tenant, list.appointments) });
    }),
  );

  const update = route(async (req, res) => {
    const connection = resolveConnection(deps, queryString(req.query.connection), callerOf(res).tenant);
    const id = patientId(queryString(req.params.id));
    const parsed = changesSchema(connection.phoneRegion).safeParse(writeBody(req));
    if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field that can be changed here');
    const accepted = await acceptPatientUpdate(deps, connection, writeContext(req, res), {
      patientId: id,
      changes: parsed.data,
      ifMatchVersion: ifMatchVersion(req),
    });
    await sendReceipt(deps, req, res, accepted);
  });
  router.post(
    '/',
    route(async (req, res) => {
      const connection = resolveConnection(deps, queryString(req.query.connection), callerOf(res).tenant);
      const parsed = registrationSchema(connection.phoneRegion).safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a new patient');
      const accepted = await acceptPatientCreate(deps, connection, writeContext(req, res), parsed.data);
      await sendReceipt(deps, req, res, accepted);
    }),
  );

  router.patch('/:id', update);
  // IVR tools can only POST: the same correction through POST.
  router.post('/:id/update', update);

  return router;
}
