/**
 * A FHIR call with the connection's OAuth access token. A 401 means the EHR no longer takes that
 * token (revoked, expired early, its keys rotated): the token is dropped (if it is still the one
 * in use), a fresh one fetched, and the call sent once more. A 401 or 403 to a fresh token is a
 * refusal of the gateway's credentials, `EHR_CREDENTIALS_REJECTED`: no number of retries fixes it.
 */
import type { EhrTokenProvider } from '../../../src/domain/ehr-sign-in';
import { ContinuumError } from '../../../src/domain/errors';

type AuthHeaders = Readonly<Record<string, string>>;

/** One try of a call: its Authorization header, and the time left of the call's deadline. */
export interface EhrAttempt {
  readonly auth: AuthHeaders;
  readonly deadlineMs: number;
}

/** The EHR's HTTP status, whichever code the normalizer gave a refusal (EHR_REJECTED or EHR_CREDENTIALS_REJECTED). */
function refusalStatus(error: ContinuumError): number | undefined {
  if (error.code !== 'EHR_REJECTED' && error.code !== 'EHR_CREDENTIALS_REJECTED') return undefined;
  const status = error.extra?.ehrStatus;
  return typeof status === 'number' ? status : undefined;
}

async function within<T>(work: Promise<T>, ms: number, connection: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        new ContinuumError('EHR_UNAVAILABLE', {
          detail: `EHR ${connection}: no access token in time`,
          extra: { timeout: true },
        }),
      );
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function withEhrToken<T>(options: {
  readonly tokens: EhrTokenProvider | undefined;
  readonly connection: string;
  /** The call's deadline: waiting for a token counts against it. */
  readonly deadlineMs: number;
  readonly run: (attempt: EhrAttempt) => Promise<T>;
  readonly normalize: (error: unknown) => ContinuumError;
}): Promise<T> {
  const { tokens, connection, run, normalize } = options;
  // One deadline for the whole call: a token wait, the first try, a renewal and the retry share it.
  const startedAt = performance.now();
  const left = (): number => Math.max(1, Math.round(options.deadlineMs - (performance.now() - startedAt)));
  const attempt = async (auth: AuthHeaders): Promise<T> => {
    try {
      return await run({ auth, deadlineMs: left() });
    } catch (error) {
      throw normalize(error);
    }
  };
  if (tokens === undefined) return attempt({});

  const first = await within(tokens.token(), left(), connection);
  try {
    return await attempt({ authorization: `Bearer ${first}` });
  } catch (error) {
    if (!(error instanceof ContinuumError) || refusalStatus(error) !== 401) throw error;
  }
  const fresh = await within(tokens.renew(first), left(), connection);
  try {
    return await attempt({ authorization: `Bearer ${fresh}` });
  } catch (error) {
    const status = error instanceof ContinuumError ? refusalStatus(error) : undefined;
    if (status === 401 || status === 403) {
      throw new ContinuumError('EHR_CREDENTIALS_REJECTED', {
        cause: error,
        detail: `EHR ${connection} refused a freshly issued access token (${status})`,
        extra: { ehrStatus: status },
      });
    }
    throw error;
  }
}
