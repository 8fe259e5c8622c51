/**
 * The sandbox's Subscription rules (which criteria and endpoints it accepts, how criteria match) and its
 * delivery policy (what is retried, when it gives up, what it logs), without the FHIR server around them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Patient, Resource, Subscription } from '@medplum/fhirtypes';
import { ensureFhirSchemaIndexed } from '../../adapters/ehr/sandbox';
import { SubscriptionDelivery } from '../../adapters/ehr/sandbox/subscription-delivery';
import {
  assertDeliverableSubscription,
  matchesCriteria,
  restHookFor,
} from '../../adapters/ehr/sandbox/subscription-rules';
import { freePort } from '../support/child-gateway';
import { waitFor } from '../support/wait-for';

beforeAll(() => {
  ensureFhirSchemaIndexed();
});

const patient: Patient = {
  resourceType: 'Patient',
  id: 'pat-0001',
  meta: { versionId: '3' },
  gender: 'female',
  name: [{ family: 'Russo', given: ['Ana'] }],
};

function subscription(fields: Partial<Subscription> = {}): Subscription {
  return {
    resourceType: 'Subscription',
    id: 'sub-1',
    status: 'active',
    reason: 'test',
    criteria: 'Patient',
    channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/webhooks/ehr/sandbox' },
    ...fields,
  };
}

describe('criteria', () => {
  it('match a bare type, or search parameters the way a search does', () => {
    expect(matchesCriteria('Patient', patient)).toBe(true);
    expect(matchesCriteria('Appointment', patient)).toBe(false);
    expect(matchesCriteria('Patient?gender=female', patient)).toBe(true);
    expect(matchesCriteria('Patient?gender=male', patient)).toBe(false);
    expect(matchesCriteria('Patient?family=rus', patient)).toBe(true); // string search: starts with, any case
    expect(matchesCriteria('Patient?family=uss', patient)).toBe(false);
    expect(matchesCriteria('Patient?gender=female&family=Smith', patient)).toBe(false);
  });

  it('only deliver for requested or active subscriptions', () => {
    expect(restHookFor(subscription(), patient)?.subscriptionId).toBe('sub-1');
    expect(restHookFor(subscription({ status: 'requested' }), patient)).toBeDefined();
    expect(restHookFor(subscription({ status: 'off' }), patient)).toBeUndefined();
    expect(restHookFor(subscription({ status: 'error' }), patient)).toBeUndefined();
  });
});

describe('assertDeliverableSubscription', () => {
  it("accepts a gateway's webhook route over http(s) on loopback", () => {
    for (const endpoint of [
      'http://127.0.0.1:8080/webhooks/ehr/sandbox',
      'https://localhost/webhooks/ehr/a',
      'http://[::1]:9000/webhooks/ehr/b',
    ]) {
      expect(() => {
        assertDeliverableSubscription(subscription({ channel: { type: 'rest-hook', endpoint } }));
      }).not.toThrow();
    }
  });

  it('refuses endpoints off the machine, naming the element', () => {
    for (const endpoint of [
      'http://example.com/webhooks/ehr/a',
      'http://192.168.1.4/webhooks/ehr/a',
      'http://127.0.0.1.nip.io/webhooks/ehr/a',
      'hook',
      // Loopback, but another local service or route: the sandbox is no way to reach them.
      'http://127.0.0.1:6379/',
      'http://127.0.0.1:8080/v1/operations/replay',
      'http://user:pass@127.0.0.1:8080/webhooks/ehr/a',
    ]) {
      expect(() => {
        assertDeliverableSubscription(subscription({ channel: { type: 'rest-hook', endpoint } }));
      }).toThrow(/endpoint|loopback/i);
    }
  });

  it('refuses criteria it cannot evaluate and headers it must not send', () => {
    const bad: Partial<Subscription>[] = [
      { criteria: 'Subscription' },
      { criteria: 'Patient?_include=Patient:organization' },
      { criteria: 'Patient?name.given=x' },
      { channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1/a', payload: 'application/fhir+xml' } },
      {
        channel: {
          type: 'rest-hook',
          endpoint: 'http://127.0.0.1/webhooks/ehr/a',
          header: ['Host: example.com'],
        },
      },
      {
        channel: {
          type: 'rest-hook',
          endpoint: 'http://127.0.0.1/webhooks/ehr/a',
          header: ['X-Forwarded-For: 10.0.0.1'],
        },
      },
      { extension: [{ url: 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret' }] },
    ];
    for (const fields of bad) {
      expect(() => {
        assertDeliverableSubscription(subscription(fields));
      }).toThrow();
    }
  });
});

describe('SubscriptionDelivery', () => {
  let server: Server;
  let origin: string;
  const answers: Record<string, number> = {};
  const hits: Record<string, number> = {};
  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '';
      hits[path] = (hits[path] ?? 0) + 1;
      req.resume();
      req.on('end', () => res.writeHead(answers[path] ?? 200).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function delivery(): { delivery: SubscriptionDelivery; warnings: { obj: object; msg?: string }[] } {
    const warnings: { obj: object; msg?: string }[] = [];
    const logger = {
      info: () => undefined,
      warn: (obj: object, msg?: string) => warnings.push({ obj, msg }),
    };
    return { delivery: new SubscriptionDelivery({ logger, retryDelaysMs: [10, 10] }), warnings };
  }
  const to = (path: string): Resource[] => [
    subscription({
      channel: { type: 'rest-hook', endpoint: `${origin}${path}`, payload: 'application/fhir+json' },
    }),
  ];

  it('gives up after the last retry with a PHI-free log line', async () => {
    answers['/down'] = 500;
    const { delivery: d, warnings } = delivery();
    d.committed(patient, to('/down'));
    await waitFor(() => Promise.resolve(warnings.length > 0 ? true : undefined), {
      what: 'the give-up line',
    });
    expect(hits['/down']).toBe(3);
    expect(warnings).toEqual([
      {
        obj: {
          subscription: 'Subscription/sub-1',
          resource: 'Patient/pat-0001/_history/3',
          attempts: 3,
          status: 500,
        },
        msg: 'sandbox EHR subscription notification not delivered',
      },
    ]);
    expect(JSON.stringify(warnings)).not.toMatch(/Russo|127\.0\.0\.1/);
    await d.close();
  });

  it('does not retry a 4xx, and retries a refused connection', async () => {
    answers['/gone'] = 410;
    const { delivery: d, warnings } = delivery();
    d.committed(patient, to('/gone'));
    d.committed(patient, [
      subscription({
        channel: { type: 'rest-hook', endpoint: `http://127.0.0.1:${await freePort()}/nothing-listens` },
      }),
    ]);
    await waitFor(() => Promise.resolve(warnings.length === 2 ? true : undefined), {
      what: 'two give-up lines',
    });
    expect(hits['/gone']).toBe(1);
    expect(warnings.map((w) => w.obj)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ attempts: 1, status: 410 }),
        expect.objectContaining({ attempts: 3, error: 'ECONNREFUSED' }),
      ]),
    );
    await d.close();
  });

  it('drops waiting retries on close, and takes nothing new after it', async () => {
    answers['/later'] = 503;
    const d = new SubscriptionDelivery({ retryDelaysMs: [60_000] });
    d.committed(patient, to('/later'));
    await waitFor(() => Promise.resolve(hits['/later'] === 1 && d.pending() === 1 ? true : undefined), {
      what: 'a retry to be waiting',
    });
    await d.close();
    expect(d.pending()).toBe(0);
    d.committed(patient, to('/later'));
    expect(d.pending()).toBe(0);
  });
});
