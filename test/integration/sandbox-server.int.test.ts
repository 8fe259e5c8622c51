/**
 * `continuum sandbox --port N`: the stand-alone server answers at /sandbox/fhir with URLs built from the
 * request, documents itself at `/`, and stops cleanly.
 */
import { startSandboxServer } from '../../adapters/ehr/sandbox';

describe('startSandboxServer', () => {
  it('serves the FHIR API at /sandbox/fhir with absolute URLs, a guide at /, and closes', async () => {
    const server = await startSandboxServer({
      port: 0,
      today: new Date('2026-03-02T12:00:00Z'),
      patientCount: 30,
    });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sandbox\/fhir$/);

      const metadata = await fetch(`${server.url}/metadata`);
      expect(metadata.status).toBe(200);
      expect(((await metadata.json()) as any).implementation.url).toBe(server.url);

      const page: any = await (await fetch(`${server.url}/Patient?_count=10`)).json();
      expect(page.total).toBe(30);
      expect(page.entry[0].fullUrl).toBe(`${server.url}/Patient/pat-0001`);
      expect(page.link.find((l: any) => l.relation === 'next').url).toBe(
        `${server.url}/Patient?_count=10&_offset=10`,
      );

      const head = await fetch(`${server.url}/Patient/pat-0001`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('etag')).toMatch(/^W\/"/);

      const guide: any = await (await fetch(new URL('/', server.url))).json();
      expect(guide.fhirBaseUrl).toBe(server.url);
      expect(guide.counts.Patient).toBe(30);
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/metadata`)).rejects.toThrow();
  });

  it('with a token, answers its FHIR and control APIs only to a request presenting it', async () => {
    const token = 'sandbox-token-0123456789';
    const server = await startSandboxServer({ port: 0, patientCount: 10, token });
    const admin = new URL('/sandbox/admin/faults', server.url).toString();
    try {
      for (const url of [`${server.url}/metadata`, `${server.url}/Patient/pat-0001`, admin]) {
        const anonymous = await fetch(url);
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
        expect(
          (await fetch(url, { headers: { authorization: 'Bearer wrong-token-000000000' } })).status,
        ).toBe(401);
        expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      }
      const down = await fetch(admin, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'down' }),
      });
      expect(down.status).toBe(401);
      expect(server.faults.get().mode).toEqual({ mode: 'up' });
    } finally {
      await server.close();
    }
  });
});
