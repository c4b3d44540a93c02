import { withoutBodyText } from './rejection-log';

describe('withoutBodyText', () => {
  it('drops the body text V8 quotes in a JSON parse error, whatever the body holds', () => {
    for (const body of ['SECRET-BODY-MARKER', '{"a": SECRET}', 'x" is not valid JSON "y', '[1,]']) {
      let message = '';
      try {
        JSON.parse(body);
      } catch (error) {
        message = `the body is not valid JSON: ${(error as Error).message}`;
      }
      expect(withoutBodyText(message)).toBe('the body is not valid JSON: unexpected token');
    }
  });

  it('keeps messages that quote no body', () => {
    for (const message of ['webhook-timestamp is 3601 s away from now (tolerance 300 s)', 'the body is not valid JSON: Unexpected end of JSON input', 'line 2 is not valid JSON: Expected \',\' or \'}\' after property value in JSON at position 31']) {
      expect(withoutBodyText(message)).toBe(message);
    }
  });
});
