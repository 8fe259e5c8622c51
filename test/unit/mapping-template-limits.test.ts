import { compileTemplate } from '../../src/mapping/jsonata-template';

/**
 * A template that never ends used to hold the event loop for good (JSONata turns tail calls into a
 * loop that never yields), so one evaluate call froze the gateway. Every evaluation is bounded.
 */
describe('write templates run within a time and depth limit', () => {
  it('stops an endless tail recursion, saying it ran too long', async () => {
    const template = compileTemplate('($f := function($n){ $f($n+1) }; $f(0))', ['value']);
    await expect(template.evaluate({}, { value: {} })).rejects.toThrow(
      'the template ran longer than 1000 ms (endless recursion?)',
    );
  });

  it('stops a recursion that nests without end, saying it nested too deep', async () => {
    // A time limit a starved machine cannot reach first: this is about depth.
    const template = compileTemplate('($f := function($n){ 1 + $f($n+1) }; $f(0))', ['value'], {
      timeLimitMs: 60000,
    });
    await expect(template.evaluate({}, { value: {} })).rejects.toThrow(
      /^the template nested deeper than \d+ calls \(endless recursion\?\)$/,
    );
  });

  it('takes a shorter limit when asked, and still runs a recursion that ends', async () => {
    const endless = compileTemplate('($f := function($n){ $f($n+1) }; $f(0))', [], { timeLimitMs: 50 });
    await expect(endless.evaluate({}, {})).rejects.toThrow('the template ran longer than 50 ms');
    const ending = compileTemplate('($f := function($n){ $n >= 200 ? $n : $f($n+1) }; $f(0))', [], {
      timeLimitMs: 60000,
    });
    await expect(ending.evaluate({}, {})).resolves.toBe(200);
  });

  it('runs a real template as before', async () => {
    const template = compileTemplate('{"system": "phone", "value": $value, "rank": $index + 1}', [
      'value',
      'index',
    ]);
    await expect(template.evaluate('+15551234567', { value: '+15551234567', index: 0 })).resolves.toEqual({
      system: 'phone',
      value: '+15551234567',
      rank: 1,
    });
  });
});
