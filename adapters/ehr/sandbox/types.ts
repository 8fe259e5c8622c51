/** The two log levels the sandbox uses; a pino logger fits. Logs carry references and counts, never PHI. */
export interface SandboxLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
