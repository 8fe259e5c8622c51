/**
 * `continuum mappings explain|try` as the CLI runs it: output to stdout, a usage mistake (unknown
 * option, no record named) to stderr with the usage and exit 2, a refusal (the gateway's, or a
 * profile that is not there) as one line and exit 1.
 */
import type { Config } from '../config/load-config';
import { MappingProfileError } from '../mapping';
import { adminKeyPath } from '../wiring/admin-client';
import { mappingsCommand, MappingsUsageError, MAPPINGS_USAGE } from './mappings-command';

export { MAPPINGS_USAGE };

export async function runMappingsCommand(args: string[], readConfig: () => Config): Promise<void> {
  try {
    await mappingsCommand(args, {
      readConfig,
      adminKeyFile: () => {
        try {
          return adminKeyPath(readConfig());
        } catch {
          return undefined;
        }
      },
      out: (text) => process.stdout.write(text),
    });
  } catch (error) {
    const parseArgsError =
      error instanceof TypeError && String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    if (error instanceof MappingsUsageError || parseArgsError) {
      process.stderr.write(`${error.message}\n${MAPPINGS_USAGE}\n`);
      process.exit(2);
    }
    // A profile that does not load is the CLI's own report (exit 2); a refusal is one line, exit 1.
    if (error instanceof MappingProfileError || !(error instanceof Error)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
