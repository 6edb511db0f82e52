import { forwardSubject, normalizeSubject, replySubject } from './subject';

describe('subject normalization', () => {
  it.each([
    ['Re: Proposal', 'proposal'],
    ['RE: re: Fwd: Proposal', 'proposal'],
    ['AW: WG: Angebot', 'angebot'],
    ['Re[2]: Status', 'status'],
    ['  Proposal   for   Q3 ', 'proposal for q3'],
    ['Réponse', 'réponse'],
    ['', ''],
  ])('%j normalizes to %j', (input, expected) => {
    expect(normalizeSubject(input)).toBe(expected);
  });

  it('does not strip words that merely start like a prefix', () => {
    expect(normalizeSubject('Rework plan')).toBe('rework plan');
    expect(normalizeSubject('Fwding rules')).toBe('fwding rules');
  });

  it('prepends Re:/Fwd: once', () => {
    expect(replySubject('Hello')).toBe('Re: Hello');
    expect(replySubject('RE: Hello')).toBe('RE: Hello');
    expect(replySubject('Hello', 'RE:')).toBe('RE: Hello');
    expect(forwardSubject('Fwd: Hello')).toBe('Fwd: Hello');
    expect(forwardSubject('Hello', 'FW:')).toBe('FW: Hello');
  });
});
