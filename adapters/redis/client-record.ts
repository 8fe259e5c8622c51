/**
 * A client as stored in Redis (JSON, one string per client) and the checks a new client passes.
 * The stored record holds key hashes; what leaves the registry (ClientInfo) never does.
 */
import { z } from 'zod';
import { isScope, SCOPES, type ClientInfo, type NewClient, type Scope } from '../../src/domain/access';
import { validationError, type FieldProblem } from '../../src/domain/errors';

const storedKeySchema = z.object({
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
});

const storedClientSchema = z.object({
  id: z.string(),
  name: z.string(),
  tenant: z.string(),
  // A scope this version does not know (a newer one wrote it) is dropped, not a reason to lock the client out.
  scopes: z.array(z.string()).transform((scopes) => scopes.filter(isScope)),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  keys: z.array(storedKeySchema),
});

export type StoredKey = z.infer<typeof storedKeySchema>;
export type StoredClient = z.infer<typeof storedClientSchema>;

/** Undefined for a value this registry did not write. */
export function parseStoredClient(raw: string): StoredClient | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = storedClientSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export function isExpired(key: StoredKey, now: Date): boolean {
  return key.expiresAt !== undefined && Date.parse(key.expiresAt) <= now.getTime();
}

export function toClientInfo(client: StoredClient, now: Date): ClientInfo {
  return {
    id: client.id,
    name: client.name,
    tenant: client.tenant,
    scopes: [...client.scopes],
    createdAt: client.createdAt,
    revokedAt: client.revokedAt ?? undefined,
    keys: client.keys
      .filter((key) => !isExpired(key, now))
      .map((key) => ({ createdAt: key.createdAt, expiresAt: key.expiresAt })),
  };
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The client as it will be stored (scopes de-duplicated), or ContinuumError VALIDATION. */
export function validateNewClient(client: NewClient): NewClient {
  const problems: FieldProblem[] = [];
  const input = client as { name?: unknown; tenant?: unknown; scopes?: unknown };
  if (typeof input.name !== 'string' || !NAME.test(input.name)) {
    problems.push({
      field: 'name',
      message: 'lowercase letters, digits and -, starting with a letter or digit, at most 63 characters',
    });
  }
  if (typeof input.tenant !== 'string' || input.tenant.trim() === '') {
    problems.push({ field: 'tenant', message: 'must not be empty' });
  }
  const scopes: Scope[] = [];
  if (!Array.isArray(input.scopes) || input.scopes.length === 0) {
    problems.push({ field: 'scopes', message: 'name at least one scope' });
  } else {
    for (const scope of input.scopes as unknown[]) {
      if (typeof scope === 'string' && isScope(scope)) {
        if (!scopes.includes(scope)) scopes.push(scope);
      } else {
        problems.push({
          field: 'scopes',
          message: `unknown scope ${JSON.stringify(scope)} (known: ${SCOPES.join(', ')})`,
        });
      }
    }
  }
  if (problems.length > 0) throw validationError(problems);
  return { name: client.name, tenant: client.tenant, scopes };
}
