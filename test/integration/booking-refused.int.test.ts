/**
 * A booking the EHR refuses for good: the slot it had taken is offered again, the receipt says
 * why, and no Appointment exists. Staged with a profile whose booking template the sandbox EHR
 * rejects (an Appointment.status no server accepts).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';
import { http } from '../support/http';
import { appointmentsHoldingSlot } from '../support/slot-bookings';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let gw: TestGateway;
let mappings: string;

beforeAll(async () => {
  mappings = mkdtempSync(join(tmpdir(), 'continuum-mappings-'));
  cpSync(join(projectRoot(), 'mappings'), mappings, { recursive: true });
  const file = join(mappings, 'default', 'appointment.yaml');
  const yaml = readFileSync(file, 'utf8');
  const broken = yaml.replace('"status": "booked",', '"status": "not-a-status",');
  expect(broken).not.toBe(yaml);
  writeFileSync(file, broken);
  // Its booking fixtures say what it writes, or the profile would not start.
  const fixtures = join(mappings, 'default', 'fixtures', 'appointment-book');
  for (const name of readdirSync(fixtures)) {
    const path = join(fixtures, name);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"status": "booked"', '"status": "not-a-status"'));
  }
  gw = await startTestGateway({
    overrides: {
      mappings: { dir: mappings },
      sandbox: { enabled: true, patientCount: 220 },
      // A slot search of two weeks can pass 2.5 s on a loaded test machine and answer 503: this file
      // is about a refused booking, not the read deadline.
      connections: { sandbox: { readDeadlineMs: 15000 } },
    },
  });
});
afterAll(async () => {
  await gw.stop();
  rmSync(mappings, { recursive: true, force: true });
});

it('frees the slot again when the EHR refuses the Appointment for good', async () => {
  const from = new Date(Date.now() + 12 * 86_400_000).toISOString().slice(0, 10);
  const slotId = (await http('GET', `${gw.url}/v1/slots?from=${from}&limit=1`)).body.slots[0].id as string;

  const res = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: 'pat-0120', slotId },
    headers: { prefer: 'wait=10' },
  });
  expect(res.body).toMatchObject({ status: 'failed', lastError: { code: 'EHR_REJECTED' } });

  const slot = (await http('GET', `${gw.fhirBase}/Slot/${slotId}`)).body;
  expect(slot.status).toBe('free');
  expect(slot.identifier ?? []).toEqual([]);
  expect(await appointmentsHoldingSlot(gw.fhirBase, slotId)).toEqual([]);
  // Offered again to the next caller.
  const offered = await http('GET', `${gw.url}/v1/slots?from=${from}&limit=1`);
  expect(offered.body.slots[0].id).toBe(slotId);
});
