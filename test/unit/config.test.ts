import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load-config';

const MAPPINGS = '/mappings';

function withFile(yaml: string): { cwd: string; file: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'continuum-config-'));
  const file = join(cwd, 'continuum.config.yaml');
  writeFileSync(file, yaml);
  return { cwd, file };
}

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('binds where HOST says, as the Docker image does with 0.0.0.0', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'continuum-config-'));
    expect(loadConfig({ env: { HOST: '0.0.0.0' }, cwd, builtInMappingsDir: MAPPINGS }).server.host).toBe(
      '0.0.0.0',
    );
  });

  it('with no file at all is valid and means the embedded defaults: sandbox EHR, embedded Redis', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'continuum-config-'));
    const config = loadConfig({ env: {}, cwd, builtInMappingsDir: MAPPINGS });
    expect(config.configFile).toBeUndefined();
    expect(config.server.port).toBe(8080);
    // Loopback unless told otherwise.
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.redis.url).toBeUndefined();
    expect(config.redis.requireDurability).toBe(true);
    expect(config.sandbox.enabled).toBe(true);
    expect(Object.keys(config.connections)).toEqual(['sandbox']);
    expect(config.connections.sandbox?.sandbox).toBe(true);
    expect(config.defaultConnection).toBe('sandbox');
    expect(config.dataDir).toBe(join(cwd, 'var'));
    expect(config.mappingsDir).toBe(MAPPINGS);
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('reads continuum.config.yaml from the working directory and interpolates ${ENV}', () => {
    const { cwd } = withFile(`
connections:
  epic:
    baseUrl: https://fhir.example.org/api/FHIR/R4
    auth: { type: bearer, token: "\${EPIC_TOKEN}" }
    readDeadlineMs: \${READ_DEADLINE:-2000}
`);
    const config = loadConfig({ env: { EPIC_TOKEN: 'tok-123' }, cwd, builtInMappingsDir: MAPPINGS });
    const epic = config.connections.epic;
    expect(epic?.auth).toEqual({ type: 'bearer', token: 'tok-123' });
    expect(config.sandbox.enabled).toBe(false);
    expect(config.defaultConnection).toBe('epic');
  });

  it('names the key and the reason for every problem', () => {
    const { cwd } = withFile(`
server:
  port: "eighty"
connections:
  epic:
    baseUrl: http://fhir.example.org/R4
    auth: { type: kerberos }
logging:
  level: loud
  colour: true
`);
    const problems = problemsOf(() => loadConfig({ env: {}, cwd, builtInMappingsDir: MAPPINGS }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.port: /),
        'connections.epic.baseUrl: must be an https URL',
        expect.stringMatching(/^connections\.epic\.auth\.type: /),
        expect.stringMatching(/^logging\.level: /),
        'logging.colour: unknown key',
      ]),
    );
  });

  it('takes an EHR capability profile, and says what the generic adapter cannot do', () => {
    const { cwd } = withFile(`
connections:
  acme:
    baseUrl: https://fhir.acme.example/R4
    capabilities: { phoneSearch: false, conditionalCreate: false, update: patch, ifMatchRequired: true }
  other:
    baseUrl: https://fhir.other.example/R4
    capabilities: { scheduling: find-book, update: post, phoneSearchQuery: fastest }
`);
    const problems = problemsOf(() => loadConfig({ env: {}, cwd, builtInMappingsDir: MAPPINGS }));
    expect(problems).toEqual([
      'connections.other.capabilities.phoneSearchQuery: must be auto, combined or parallel',
      'connections.other.capabilities.update: must be put or patch',
      expect.stringMatching(
        /^connections\.other\.capabilities\.scheduling: must be slots: .*\$find and \$book need their own adapter$/,
      ),
    ]);
    const { cwd: ok } = withFile(`
connections:
  acme:
    baseUrl: https://fhir.acme.example/R4
    capabilities: { phoneSearch: false, conditionalCreate: false, update: patch, ifMatchRequired: true, phoneSearchQuery: parallel }
`);
    expect(
      loadConfig({ env: {}, cwd: ok, builtInMappingsDir: MAPPINGS }).connections.acme?.capabilities,
    ).toEqual({
      phoneSearch: false,
      phoneSearchQuery: 'parallel',
      conditionalCreate: false,
      update: 'patch',
      ifMatchRequired: true,
      scheduling: 'slots',
    });
  });

  it('refuses a missing environment variable in a ${} reference, naming the key', () => {
    const { cwd } = withFile(`encryption:\n  key: \${NO_SUCH_KEY}\n`);
    expect(problemsOf(() => loadConfig({ env: {}, cwd, builtInMappingsDir: MAPPINGS }))).toEqual([
      'encryption.key: environment variable NO_SUCH_KEY is not set',
    ]);
  });

  it('refuses YAML that does not parse', () => {
    const { cwd } = withFile('server: [unclosed\n');
    expect(problemsOf(() => loadConfig({ env: {}, cwd, builtInMappingsDir: MAPPINGS }))[0]).toMatch(
      /not valid YAML/,
    );
  });

  it('lets PORT, REDIS_URL, CONTINUUM_DATA_DIR and LOG_LEVEL override the file', () => {
    const { cwd } = withFile('server:\n  port: 9000\n');
    const config = loadConfig({
      env: {
        PORT: '9100',
        REDIS_URL: 'redis://127.0.0.1:6390',
        CONTINUUM_DATA_DIR: '/tmp/cdata',
        LOG_LEVEL: 'warn',
      },
      cwd,
      builtInMappingsDir: MAPPINGS,
    });
    expect(config.server.port).toBe(9100);
    expect(config.redis.url).toBe('redis://127.0.0.1:6390');
    expect(config.dataDir).toBe('/tmp/cdata');
    expect(config.logging.level).toBe('warn');
  });

  it('uses the file named by CONTINUUM_CONFIG and says when it does not exist', () => {
    const { cwd, file } = withFile('phone:\n  defaultRegion: GB\n');
    expect(
      loadConfig({ env: { CONTINUUM_CONFIG: file }, cwd: '/', builtInMappingsDir: MAPPINGS }).phone
        .defaultRegion,
    ).toBe('GB');
    expect(
      problemsOf(() =>
        loadConfig({ env: { CONTINUUM_CONFIG: join(cwd, 'nope.yaml') }, cwd, builtInMappingsDir: MAPPINGS }),
      ),
    ).toEqual(['(file): does not exist (CONTINUUM_CONFIG)']);
  });

  it('takes only a phone region libphonenumber has a numbering plan for', () => {
    for (const region of ['XX', 'us', 'USA']) {
      const { cwd } = withFile(`phone:\n  defaultRegion: ${region}\n`);
      expect(problemsOf(() => loadConfig({ env: {}, cwd, builtInMappingsDir: MAPPINGS }))).toEqual([
        'phone.defaultRegion: is not a region code libphonenumber knows (ISO 3166-1 alpha-2, e.g. US)',
      ]);
    }
  });

  it('allows plain http to loopback and, when asked, to a trusted private host', () => {
    const { cwd } = withFile(`
connections:
  local:
    baseUrl: http://127.0.0.1:9999/fhir
  compose:
    baseUrl: http://api:8080/sandbox/fhir
    allowInsecureHttp: true
`);
    const config = loadConfig({ env: {}, cwd, builtInMappingsDir: MAPPINGS });
    expect(Object.keys(config.connections).sort()).toEqual(['compose', 'local']);
  });

  it('refuses a job lock renewed less often than twice per lock: a live worker would lose its writes', () => {
    const { cwd } = withFile('queue:\n  lockDurationMs: 4000\n  lockRenewMs: 3000\n');
    expect(problemsOf(() => loadConfig({ env: {}, cwd, builtInMappingsDir: MAPPINGS }))).toEqual([
      'queue.lockRenewMs: lockRenewMs must be at most half of lockDurationMs, or a live worker loses its lock',
    ]);
    const defaults = loadConfig({
      env: {},
      cwd: mkdtempSync(join(tmpdir(), 'continuum-config-')),
      builtInMappingsDir: MAPPINGS,
    });
    expect(defaults.queue).toMatchObject({
      lockDurationMs: 5000,
      lockRenewMs: 1000,
      stalledIntervalMs: 2000,
    });
  });

  it('refuses an unknown default connection', () => {
    const { cwd } = withFile('defaultConnection: epic\n');
    expect(problemsOf(() => loadConfig({ env: {}, cwd, builtInMappingsDir: MAPPINGS }))).toEqual([
      'defaultConnection: no connection named "epic" (have: sandbox)',
    ]);
  });
});
