/**
 * A gateway of two tenants for confinement tests: `default` uses connection `sandbox` and hears
 * subscriber `desk-default`; `south` uses `other` and hears `desk-south`. Both connections reach the
 * rig's sandbox EHR; the subscribers' URLs answer nothing. `tenants` adds tenants of a test's own.
 */
const secret = (text: string): string => `whsec_${Buffer.from(text).toString('base64')}`;

type Tenants = Record<string, { connections: string[] }>;

/** The configuration overrides; its type is inferred, so tests read `tenants` by name. */
export function twoTenantConfig<T extends Tenants = Tenants>(tenants: T = {} as T) {
  return {
    sandbox: { enabled: true },
    connections: { sandbox: {}, other: {} },
    defaultConnection: 'sandbox',
    tenants: { default: { connections: ['sandbox'] }, south: { connections: ['other'] }, ...tenants },
    events: {
      subscribers: [
        {
          kind: 'webhook',
          name: 'desk-default',
          url: 'http://127.0.0.1:9/a',
          secret: secret('desk-default-secret'),
          tenant: 'default',
        },
        {
          kind: 'webhook',
          name: 'desk-south',
          url: 'http://127.0.0.1:9/b',
          secret: secret('desk-south-secret0'),
          tenant: 'south',
        },
      ],
    },
  };
}
