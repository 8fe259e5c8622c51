import { patientChangesSchema } from '../../src/http/schemas/patient-changes.schema';
import { zodToValidationError } from '../../src/http/validation';

const schema = patientChangesSchema('US');

function problems(body: unknown) {
  const result = schema.safeParse(body);
  if (result.success) throw new Error('expected a validation failure');
  return (zodToValidationError(result.error, 'is not a field that can be changed here').extra?.errors ??
    []) as { field: string; message: string }[];
}

describe('PATCH /v1/patients body', () => {
  it('normalises phones to E.164 and removes duplicates', () => {
    expect(schema.parse({ phones: ['(617) 555-0123', '617.555.0123', '+1 212 555 0199'] })).toEqual({
      phones: ['+16175550123', '+12125550199'],
    });
  });

  it('accepts a single phone from a form body', () => {
    expect(schema.parse({ phones: '617-555-0123' })).toEqual({ phones: ['+16175550123'] });
  });

  it('names the bad field without echoing its value', () => {
    const found = problems({ phones: ['617-555-0123', '12'] });
    expect(found).toEqual([{ field: 'phones[1]', message: 'is not a valid phone number' }]);
    expect(JSON.stringify(found)).not.toContain('12"');
  });

  it('refuses unknown fields and wrong types', () => {
    expect(problems({ nickname: 'x' })).toContainEqual({
      field: 'nickname',
      message: 'is not a field that can be changed here',
    });
    expect(problems({ phones: 6175550123 })[0]?.field).toBe('phones');
    expect(problems({ email: 'not-an-email' })[0]?.field).toBe('email');
    expect(problems({ preferredLanguage: 'Spanish please' })[0]?.field).toBe('preferredLanguage');
  });

  it('requires at least one change', () => {
    expect(problems({})[0]?.message).toMatch(/at least one/);
  });

  it('clears email and address with null, or with an empty form value', () => {
    expect(schema.parse({ email: null, address: '' })).toEqual({ email: null, address: null });
  });
});
