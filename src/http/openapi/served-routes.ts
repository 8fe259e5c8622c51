/** The routes a gateway serves, as its configuration has them: what its OpenAPI document covers. */
import { routeTable, type RouteSpec } from '../route-table';

export interface SandboxServing {
  /** The built-in sandbox EHR is mounted (`sandbox.enabled`). */
  readonly enabled: boolean;
  /** It checks its own OAuth tokens and serves its token endpoint (`sandbox.auth` on). */
  readonly checksTokens: boolean;
}

export function servedRoutes(sandbox: SandboxServing): readonly RouteSpec[] {
  return routeTable({ sandboxChecksTokens: sandbox.checksTokens }).filter((spec) => {
    if (!spec.path.startsWith('/sandbox/')) return true;
    if (!sandbox.enabled) return false;
    // Listed either way; it answers 404 while the sandbox requires no tokens.
    return spec.path !== '/sandbox/auth/token' || sandbox.checksTokens;
  });
}
