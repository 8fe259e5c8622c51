/**
 * Verifies an EHR notification against its connection's signature scheme, on the raw bytes as
 * they arrived (a re-serialised body never verifies). HMAC and bearer secrets are compared in
 * constant time; Standard Webhooks are checked by the `standardwebhooks` library, which also
 * refuses timestamps outside its 5-minute window.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import type { WebhookScheme } from '../domain/webhook-scheme';

export type { WebhookScheme };

export type SignatureCheck =
  | {
      readonly ok: true;
      /** The sender's event id when the signature covers it (Standard Webhooks), else undefined. */
      readonly signedEventId: string | undefined;
      /** An id the sender sent beside the signature (`X-Event-Id`): anyone replaying may change it. */
      readonly unsignedEventId: string | undefined;
    }
  | { readonly ok: false; readonly reason: string };

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
};

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Lengths differ only for a wrong value; comparing equal lengths keeps the time constant.
  return a.length === b.length && timingSafeEqual(a, b);
}

export function checkSignature(
  scheme: WebhookScheme | undefined,
  rawBody: Buffer,
  headers: IncomingHttpHeaders,
): SignatureCheck {
  if (scheme === undefined)
    return { ok: false, reason: 'no signature scheme is configured for this connection' };
  switch (scheme.scheme) {
    case 'hmac-sha256': {
      const given = header(headers, scheme.header);
      if (given === undefined) return { ok: false, reason: `missing ${scheme.header}` };
      const expected = createHmac('sha256', scheme.secret).update(rawBody).digest('hex');
      return sameSecret(given.trim().toLowerCase(), expected)
        ? { ok: true, signedEventId: undefined, unsignedEventId: header(headers, 'x-event-id') }
        : { ok: false, reason: 'signature does not match' };
    }
    case 'bearer': {
      const given = header(headers, 'authorization');
      if (given === undefined) return { ok: false, reason: 'missing authorization' };
      return sameSecret(given, `Bearer ${scheme.secret}`)
        ? { ok: true, signedEventId: undefined, unsignedEventId: header(headers, 'x-event-id') }
        : { ok: false, reason: 'secret does not match' };
    }
    case 'standard-webhooks': {
      const id = header(headers, 'webhook-id');
      const timestamp = header(headers, 'webhook-timestamp');
      const signature = header(headers, 'webhook-signature');
      if (id === undefined || timestamp === undefined || signature === undefined) {
        return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
      }
      try {
        new Webhook(scheme.secret).verify(rawBody, {
          'webhook-id': id,
          'webhook-timestamp': timestamp,
          'webhook-signature': signature,
        });
        return { ok: true, signedEventId: id, unsignedEventId: undefined };
      } catch (error) {
        return { ok: false, reason: error instanceof Error ? error.message : 'signature does not verify' };
      }
    }
  }
}
