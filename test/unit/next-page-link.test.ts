import { nextPageDecision } from '../../adapters/ehr/fhir-r4/next-page-link';

const policy = (allowed: readonly string[] = []) => ({
  baseUrl: 'https://ehr.example/fhir',
  allowedOrigins: new Set(allowed),
});

describe('which next links a search follows', () => {
  it('follows the base origin, and resolves relative links against the base', () => {
    expect(nextPageDecision('https://ehr.example/fhir?_getpages=a', policy())).toEqual({
      follow: 'https://ehr.example/fhir?_getpages=a',
    });
    expect(nextPageDecision('Appointment?page=2', policy())).toEqual({
      follow: 'https://ehr.example/fhir/Appointment?page=2',
    });
    expect(nextPageDecision('/fhir/Appointment?page=2', policy())).toEqual({
      follow: 'https://ehr.example/fhir/Appointment?page=2',
    });
  });

  it('refuses another host, or the same host on another port, unless listed', () => {
    expect(nextPageDecision('https://lb-7.ehr.example/fhir?p=2', policy())).toEqual({
      refuse: 'next-link-origin',
      origin: 'https://lb-7.ehr.example',
    });
    expect(nextPageDecision('https://ehr.example:8443/fhir?p=2', policy())).toMatchObject({
      refuse: 'next-link-origin',
    });
    expect(
      nextPageDecision('https://lb-7.ehr.example/fhir?p=2', policy(['https://lb-7.ehr.example'])),
    ).toEqual({
      follow: 'https://lb-7.ehr.example/fhir?p=2',
    });
  });

  it('never leaves https for http, even on the same host, unless that http origin is listed', () => {
    expect(nextPageDecision('http://ehr.example/fhir?p=2', policy())).toEqual({
      refuse: 'next-link-downgrade',
      origin: 'http://ehr.example',
    });
    expect(nextPageDecision('http://10.0.0.5:8080/fhir?_getpages=x', policy())).toMatchObject({
      refuse: 'next-link-downgrade',
    });
    expect(
      nextPageDecision('http://10.0.0.5:8080/fhir?_getpages=x', policy(['http://10.0.0.5:8080'])),
    ).toEqual({ follow: 'http://10.0.0.5:8080/fhir?_getpages=x' });
  });

  it('refuses links that are not http(s) or carry credentials of their own', () => {
    expect(nextPageDecision('file:///etc/passwd', policy())).toEqual({ refuse: 'next-link-invalid' });
    expect(nextPageDecision('https://u:p@ehr.example/fhir?p=2', policy())).toMatchObject({
      refuse: 'next-link-invalid',
    });
    expect(nextPageDecision('http://[bad', policy())).toEqual({ refuse: 'next-link-invalid' });
  });
});
