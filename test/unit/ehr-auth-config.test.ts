/** `connections.<name>.auth` for OAuth sign-in: what is accepted, and what an operator is told otherwise. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../src/config/load-config';

function load(yaml: string, env: Record<string, string> = {}): Config {
  const cwd = mkdtempSync(join(tmpdir(), 'continuum-ehr-auth-'));
  writeFileSync(join(cwd, 'continuum.config.yaml'), yaml);
  return loadConfig({ env, cwd, builtInMappingsDir: '/mappings' });
}

function problemsOf(yaml: string): readonly string[] {
  try {
    load(yaml);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const epic = (auth: string): string => `
connections:
  epic:
    baseUrl: https://fhir.example.org/api/FHIR/R4
    auth: ${auth}
`;

describe('smart-backend', () => {
  it('takes SMART v1 and v2 system scopes, with ES384 and the key ring by default', () => {
    const config = load(
      epic(
        `{ type: smart-backend, clientId: abc, scopes: [system/Patient.read, system/Appointment.rs, "system/Observation.rs?category=laboratory", system/*.write] }`,
      ),
    );
    expect(config.connections.epic?.auth).toEqual({
      type: 'smart-backend',
      clientId: 'abc',
      scopes: [
        'system/Patient.read',
        'system/Appointment.rs',
        'system/Observation.rs?category=laboratory',
        'system/*.write',
      ],
      algorithm: 'ES384',
    });
  });

  it('takes a private key from the environment', () => {
    const config = load(
      epic(
        `{ type: smart-backend, clientId: abc, scopes: [system/Patient.read], algorithm: RS384, privateKey: "\${EHR_KEY}" }`,
      ),
      {
        EHR_KEY: '-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----',
      },
    );
    expect(config.connections.epic?.auth).toMatchObject({
      algorithm: 'RS384',
      privateKey: expect.stringContaining('PRIVATE KEY'),
    });
  });

  it.each([
    ['patient/Patient.read', 'system/Patient.read'],
    ['system/Patient.', 'system/Patient.read'],
    ['system/Patient.rsc', 'system/Patient.rs'],
    ['system/patient.read', 'system/Patient.read'],
    ['launch', 'system/Patient.read'],
  ])('refuses %s, saying what a scope looks like', (scope) => {
    expect(problemsOf(epic(`{ type: smart-backend, clientId: abc, scopes: ["${scope}"] }`))).toEqual([
      'connections.epic.auth.scopes.0: must be a SMART system scope such as system/Patient.read (v1) or system/Patient.rs (v2)',
    ]);
  });

  it('needs a client id and at least one scope, an algorithm it knows, one key source, an https token URL', () => {
    expect(problemsOf(epic(`{ type: smart-backend, scopes: [] }`))).toEqual([
      'connections.epic.auth.clientId: required: the client id the EHR registered the gateway under',
      'connections.epic.auth.scopes: name at least one scope, such as system/Patient.read',
    ]);
    expect(
      problemsOf(
        epic(`{ type: smart-backend, clientId: a, scopes: [system/Patient.read], algorithm: RS256 }`),
      ),
    ).toEqual(['connections.epic.auth.algorithm: must be ES384 or RS384']);
    expect(
      problemsOf(
        epic(
          `{ type: smart-backend, clientId: a, scopes: [system/Patient.read], privateKey: x, privateKeyFile: /k.pem }`,
        ),
      ),
    ).toEqual(['connections.epic.auth.privateKey: give privateKey or privateKeyFile, not both']);
    expect(
      problemsOf(
        epic(
          `{ type: smart-backend, clientId: a, scopes: [system/Patient.read], tokenUrl: "http://idp.example.org/token" }`,
        ),
      ),
    ).toEqual(['connections.epic.auth.tokenUrl: must be an https URL']);
  });
});

describe('client-credentials', () => {
  it('defaults to client_secret_basic and no scopes', () => {
    const config = load(epic(`{ type: client-credentials, clientId: abc, clientSecret: "\${SECRET}" }`), {
      SECRET: 's3',
    });
    expect(config.connections.epic?.auth).toEqual({
      type: 'client-credentials',
      clientId: 'abc',
      clientSecret: 's3',
      method: 'client_secret_basic',
      scopes: [],
    });
  });

  it('needs exactly one of clientSecret and clientSecretFile, and a method it knows', () => {
    expect(problemsOf(epic(`{ type: client-credentials, clientId: abc }`))).toEqual([
      'connections.epic.auth.clientSecret: required (or clientSecretFile)',
    ]);
    expect(
      problemsOf(epic(`{ type: client-credentials, clientId: abc, clientSecret: a, clientSecretFile: /s }`)),
    ).toEqual(['connections.epic.auth.clientSecret: give clientSecret or clientSecretFile, not both']);
    expect(
      problemsOf(
        epic(`{ type: client-credentials, clientId: abc, clientSecret: a, method: private_key_jwt }`),
      ),
    ).toEqual(['connections.epic.auth.method: must be client_secret_basic or client_secret_post']);
  });
});
