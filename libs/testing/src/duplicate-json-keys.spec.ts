import { duplicateJsonKeys } from './duplicate-json-keys';

describe('duplicateJsonKeys', () => {
  it('finds a key an object repeats, at any depth, and ignores the same key in sibling objects', () => {
    expect(duplicateJsonKeys('{"service":"embedded","service":"sync-engine"}')).toEqual(['service']);
    expect(duplicateJsonKeys('{"a":{"b":1,"c":"x,\\"b\\":","b":2}}')).toEqual(['b']);
    expect(duplicateJsonKeys('{"a":[{"k":1},{"k":2}],"k":"{\\"k\\":1}"}')).toEqual([]);
  });

  it('refuses a text that is not JSON', () => {
    expect(() => duplicateJsonKeys('{"a":1')).toThrow();
  });
});
