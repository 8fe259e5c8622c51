import { phiFound } from '../support/phi-words';

/** The canary checks look for a patient's data as words: the check must still catch it wherever it is. */
describe('finding PHI as whole words', () => {
  it('finds a family name, a birth date and a phone number in logs, JSON and HTML', () => {
    const values = ['Chan', '1961-04-09', '+16175550100'];
    expect(phiFound('{"msg":"found","family":"Chan"}', values)).toEqual(['Chan']);
    expect(phiFound('<td>Chan, Maria</td><td>1961-04-09</td>', values)).toEqual(['Chan', '1961-04-09']);
    expect(phiFound('called +16175550100 back', values)).toEqual(['+16175550100']);
  });

  it('does not take the start of another word for the name', () => {
    expect(phiFound('<td>Changed exactly once</td><td>Chant 19610409</td>', ['Chan', '1961'])).toEqual([]);
  });

  it('ignores values a record does not have', () => {
    expect(phiFound('anything at all', [undefined, '', '  '])).toEqual([]);
  });
});
