/**
 * `sandbox.auth` in the configuration and on `continuum sandbox`'s command line, and which SMART
 * scopes the sandbox grants from what a client asks for.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { grantScopes } from '../../adapters/ehr/sandbox';
import { sandboxAuthFromFlags } from '../../src/cli/sandbox-auth-flags';
import { ConfigError, loadConfig } from '../../src/config/load-config';

function load(yaml?: string): ReturnType<typeof loadConfig> {
  const cwd = mkdtempSync(join(tmpdir(), 'continuum-config-'));
  if (yaml !== undefined) writeFileSync(join(cwd, 'continuum.config.yaml'), yaml);
  return loadConfig({ env: {}, cwd, builtInMappingsDir: '/mappings' });
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

describe('sandbox.auth', () => {
  it('is off by default, so a start without configuration needs no client', () => {
    const config = load();
    expect(config.sandbox.auth).toEqual({
      mode: 'none',
      tokenLifetimeSeconds: 300,
      clientId: 'continuum',
      algorithms: ['RS384', 'ES384'],
      scopes: ['system/*.cruds'],
    });
    expect(config.connections.sandbox?.auth).toEqual({ type: 'none' });
  });

  it('names what a mode lacks', () => {
    expect(problemsOf('sandbox:\n  auth:\n    mode: client-credentials\n')).toEqual([
      expect.stringMatching(/sandbox\.auth\.clientSecret.*required with mode client-credentials/),
    ]);
    expect(
      problemsOf(
        'sandbox:\n  auth:\n    mode: smart-backend\n    clientId: gw\n    jwksUrl: http://127.0.0.1:8080/.well-known/jwks.json\n    algorithms: [RS256]\n',
      ),
    ).toEqual([expect.stringContaining('sandbox.auth.algorithms')]);
  });

  it('is one switch: the connection to the built-in sandbox signs in as its registered client', () => {
    expect(load('sandbox:\n  auth:\n    mode: smart-backend\n').connections.sandbox?.auth).toEqual({
      type: 'smart-backend',
      clientId: 'continuum',
      scopes: ['system/*.cruds'],
      algorithm: 'ES384',
    });
    const secret = 'a-secret-of-twenty-chars';
    const configured = load(
      `sandbox:\n  enabled: true\n  auth:\n    mode: client-credentials\n    clientId: ivr\n    clientSecret: ${secret}\n` +
        'connections:\n  local: {}\n  own:\n    auth: { type: bearer, token: kept }\n',
    );
    expect(configured.connections.local?.auth).toEqual({
      type: 'client-credentials',
      clientId: 'ivr',
      clientSecret: secret,
      method: 'client_secret_basic',
      scopes: ['system/*.cruds'],
    });
    // A connection that names its own sign-in keeps it.
    expect(configured.connections.own?.auth).toEqual({ type: 'bearer', token: 'kept' });
  });

  it('reads a complete smart-backend client', () => {
    const auth = load(
      'sandbox:\n  auth:\n    mode: smart-backend\n    clientId: gw\n    jwksUrl: http://127.0.0.1:8080/.well-known/jwks.json\n    tokenLifetimeSeconds: "5"\n',
    ).sandbox.auth;
    expect(auth).toMatchObject({ mode: 'smart-backend', clientId: 'gw', tokenLifetimeSeconds: 5 });
  });
});

describe('continuum sandbox OAuth flags', () => {
  it('read into the same options, the secret possibly from the environment', () => {
    expect(
      sandboxAuthFromFlags(
        { 'auth-mode': 'client-credentials', 'client-id': 'ivr', 'token-lifetime': '60' },
        { CONTINUUM_SANDBOX_CLIENT_SECRET: 'a-secret-of-16-chars+' },
      ),
    ).toEqual({
      auth: expect.objectContaining({
        mode: 'client-credentials',
        clientId: 'ivr',
        clientSecret: 'a-secret-of-16-chars+',
        tokenLifetimeSeconds: 60,
      }),
    });
    expect(sandboxAuthFromFlags({ 'auth-algorithms': 'RS384,ES384' }, {})).toEqual({
      auth: expect.objectContaining({ mode: 'none', algorithms: ['RS384', 'ES384'] }),
    });
  });

  it('name the flag that is wrong', () => {
    expect(sandboxAuthFromFlags({ 'auth-mode': 'smart-backend', 'client-id': 'gw' }, {})).toEqual({
      error: '--jwks-url: is required with mode smart-backend',
    });
    expect(sandboxAuthFromFlags({ 'auth-mode': 'saml' }, {})).toEqual({
      error: expect.stringMatching(/^--auth-mode: /),
    });
  });
});

describe('grantScopes', () => {
  const allowed = ['system/Patient.rs', 'system/Appointment.cruds', 'system/*.s'];

  it('grants what the allowed scopes cover, v1 and v2 alike, and drops the rest', () => {
    expect(
      grantScopes(
        'system/Patient.read system/Patient.write system/Appointment.* system/Slot.s system/Slot.r launch',
        allowed,
      ),
    ).toEqual(['system/Patient.read', 'system/Appointment.*', 'system/Slot.s']);
  });

  it('keeps contexts apart and refuses malformed permissions', () => {
    expect(
      grantScopes('patient/Patient.rs user/Patient.read system/Patient.sr system/Patient.', allowed),
    ).toEqual([]);
  });

  it('grants every allowed scope when none is asked for', () => {
    expect(grantScopes(undefined, allowed)).toEqual(allowed);
    expect(grantScopes('  ', allowed)).toEqual(allowed);
  });
});
