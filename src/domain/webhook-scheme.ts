/** How an EHR signs the notifications it pushes to `POST /webhooks/ehr/<connection>`. */
export type WebhookScheme =
  /** HMAC-SHA256 of the raw body, hex, in a header (Medplum's `X-Signature`). */
  | { readonly scheme: 'hmac-sha256'; readonly secret: string; readonly header: string }
  /** Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature; `whsec_` + base64 secret. */
  | { readonly scheme: 'standard-webhooks'; readonly secret: string }
  /** A static secret sent as `Authorization: Bearer <secret>`. */
  | { readonly scheme: 'bearer'; readonly secret: string };
