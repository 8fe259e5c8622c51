import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load-config';

function load(yaml: string) {
  const cwd = mkdtempSync(join(tmpdir(), 'continuum-config-'));
  writeFileSync(join(cwd, 'continuum.config.yaml'), yaml);
  return () => loadConfig({ env: {}, cwd, builtInMappingsDir: '/mappings' });
}

describe('connections.<name>.paging', () => {
  it('allows no other origin by default, and takes the origins listed', () => {
    const config = load(`
connections:
  epic:
    baseUrl: https://fhir.example.org/R4
    paging:
      allowedOrigins: [https://fhir-2.example.org, 'http://10.0.0.5:8080']
  other:
    baseUrl: https://other.example.org/R4
`)();
    expect(config.connections.epic?.paging.allowedOrigins).toEqual([
      'https://fhir-2.example.org',
      'http://10.0.0.5:8080',
    ]);
    expect(config.connections.other?.paging.allowedOrigins).toEqual([]);
  });

  it('refuses anything but a bare origin, with the key that is wrong', () => {
    const run = load(`
connections:
  epic:
    baseUrl: https://fhir.example.org/R4
    paging:
      allowedOrigins: [https://fhir-2.example.org/R4]
`);
    expect(run).toThrow(ConfigError);
    try {
      run();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(/^connections\.epic\.paging\.allowedOrigins\.0: must be an origin/),
      ]);
    }
  });
});
