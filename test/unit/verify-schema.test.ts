import { parseBirthDate, verifyRequestSchema } from '../../src/http/schemas/verify.schema';

describe('parseBirthDate', () => {
  it.each([
    ['1980-02-29', '1980-02-29'],
    [' 1980-02-29 ', '1980-02-29'],
    ['02291980', '1980-02-29'],
    ['02291980#', '1980-02-29'],
    ['19800229', '1980-02-29'],
    ['20120304', '2012-03-04'],
    ['12312001', '2001-12-31'],
  ])('reads %j as %s', (raw, expected) => {
    expect(parseBirthDate(raw)).toBe(expected);
  });

  it.each([
    '1981-02-29',
    '02291981',
    '1980-13-01',
    '13011980',
    '00001980',
    '02/29/1980',
    '29.02.1980',
    '1980229',
    '',
  ])('refuses %j', (raw) => {
    expect(parseBirthDate(raw)).toBeUndefined();
  });
});

describe('verify request schema', () => {
  const schema = verifyRequestSchema('US');
  const fields = (body: unknown): string[] => {
    const parsed = schema.safeParse(body);
    if (parsed.success) return [];
    return parsed.error.issues.map((i) => i.path.join('.'));
  };

  it('normalises what it accepts', () => {
    expect(
      schema.parse({
        birthDate: '07041976',
        family: '  Nguyễn ',
        mrn: ' MRN-1 ',
        phone: '(617) 555-1234',
        patientId: 'pat-0001',
        callerId: '+1 617 555 0000',
      }),
    ).toEqual({
      birthDate: '1976-07-04',
      family: 'Nguyễn',
      mrn: 'MRN-1',
      phone: '+16175551234',
      patientId: 'pat-0001',
      callerId: '+1 617 555 0000',
    });
  });

  it('reads empty form fields as absent', () => {
    expect(
      schema.parse({ birthDate: '1976-07-04', family: '', mrn: 'M1', phone: ' ', callerId: '' }),
    ).toEqual({
      birthDate: '1976-07-04',
      family: undefined,
      mrn: 'M1',
      phone: undefined,
      patientId: undefined,
      callerId: undefined,
    });
  });

  it('names every field at fault at once', () => {
    expect(fields({})).toEqual(['birthDate', 'family']);
    expect(fields({ birthDate: 19760704, phone: '12', extra: 'x' }).sort()).toEqual([
      'birthDate',
      'extra',
      'phone',
    ]);
    expect(fields({ birthDate: '1976-07-04', family: "'-. " })).toEqual(['family']);
    expect(fields({ birthDate: '1976-07-04', mrn: 'a\u0000b' })).toEqual(['mrn']);
    expect(fields({ birthDate: '1849-12-31', mrn: 'M1' })).toEqual(['birthDate']);
    expect(fields({ birthDate: '1976-07-04', mrn: 'M1', patientId: '../x' })).toEqual(['patientId']);
  });

  it('never puts a submitted value in a message', () => {
    const parsed = schema.safeParse({ birthDate: '1976-13-04', family: 'x'.repeat(101), phone: '5550100' });
    expect(parsed.success).toBe(false);
    const text = JSON.stringify(parsed.error?.issues.map((i) => i.message));
    expect(text).not.toContain('1976');
    expect(text).not.toContain('xxxx');
    expect(text).not.toContain('5550100');
  });
});
