/** Headers and parameters many operations share, defined once under `components`. */

export const HEADERS = {
  Location: {
    description: 'Where to follow the write: `/v1/operations/{operationId}`',
    schema: { type: 'string' },
  },
  'Retry-After': { description: 'Seconds to wait before asking again', schema: { type: 'integer' } },
  ETag: { description: 'W/"<EHR version>": send it back as If-Match', schema: { type: 'string' } },
  'Preference-Applied': { description: 'The `wait=N` honoured', schema: { type: 'string' } },
  'WWW-Authenticate': {
    description: 'The schemes and realm to authenticate with',
    schema: { type: 'string' },
  },
  'X-Request-Id': {
    description: 'This request’s id (yours, if you sent a plain token)',
    schema: { type: 'string' },
  },
} as const;

export const PARAMETERS = {
  Prefer: {
    name: 'Prefer',
    in: 'header',
    required: false,
    description:
      'RFC 7240. `wait=N` (N up to 30 seconds): answer with the final receipt (200, or 201 when the ' +
      'EHR created a resource) if the write finishes in time, else 202 as without it. ' +
      '`respond-async` (or no header): answer 202 at once. `priority=urgent` (scope `writes:urgent`, ' +
      "else 403 FORBIDDEN and nothing taken): the write and its patient's lane are served before routine " +
      'work; `priority=routine`: never urgent, whatever the appointment or callback (bulk imports). ' +
      "Without `priority`, the urgency rule decides (see the receipt's `urgency`). Preferences combine: " +
      '`wait=10, priority=urgent`.',
    schema: { type: 'string', examples: ['wait=10', 'respond-async', 'priority=urgent'] },
  },
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes retries safe: the same key with the same body answers the first write’s receipt ' +
      '(`replayed: true`); with another body, 422 IDEMPOTENCY_MISMATCH.',
    schema: { type: 'string', maxLength: 255 },
  },
  ContactId: {
    name: 'X-Contact-Id',
    in: 'header',
    required: false,
    description: 'The platform’s call id: makes the platform’s own retries of this request safe',
    schema: { type: 'string' },
  },
  CallId: {
    name: 'X-Call-Id',
    in: 'header',
    required: false,
    description: 'Another name for X-Contact-Id',
    schema: { type: 'string' },
  },
  Shape: {
    name: 'shape',
    in: 'query',
    required: false,
    description:
      '`flat`: one level of string values for IVR flows (Amazon Connect, Genesys Architect, Twilio ' +
      'Studio), under 32 KB: nested keys joined with `_` (`name_family`), list items numbered from 1 ' +
      '(`slots1_start`) with `<list>_count`, booleans and numbers as strings; `truncated: "true"` ' +
      'when items had to be dropped. Errors stay problem+json.',
    schema: { type: 'string', enum: ['flat'] },
  },
} as const;

export const FLAT_SHAPE = {
  type: 'object',
  description: 'The answer with `?shape=flat`: one level of strings.',
  additionalProperties: { type: 'string' },
};
