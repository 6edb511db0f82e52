import isBase64 from 'validator/lib/isBase64';
import { isBase64Text } from './is-base64-text';

describe('isBase64Text', () => {
  it('accepts and refuses what validator.isBase64 does', () => {
    const samples = [
      '',
      'QQ==',
      'QUI=',
      'QUJD',
      'QUJDRA==',
      'a+/9',
      'Q===',
      '====',
      'QQ=',
      'QQ',
      'QUJD ',
      'QU=D',
      'QUJD\n',
      'QUJ-',
      'QUJ_',
      'é===',
      Buffer.from('hello, world').toString('base64'),
    ];
    for (const s of samples) expect([s, isBase64Text(s)]).toEqual([s, isBase64(s)]);
  });

  it('checks a multi-MB attachment without throwing (the regular expression it replaces could overflow)', () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 7).toString('base64');
    expect(isBase64Text(big)).toBe(true);
    expect(isBase64Text(`${big.slice(0, -4)}QU!=`)).toBe(false);
  });
});
