/**
 * `continuum mappings explain|try` as the CLI runs it: output to stdout, a usage mistake (unknown
 * option, no record named) to stderr with the usage and exit 2, a gateway refusal exit 1.
 */
import type { Config } from '../config/load-config';
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
    throw error;
  }
}
