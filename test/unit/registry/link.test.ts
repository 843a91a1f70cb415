import fc from 'fast-check';
import { nextLink, parseLinkHeader } from '../../../src/registry/link';

describe('Link header', () => {
  it('finds rel="next" among several links and values', () => {
    const header = '</v2/r/referrers/sha256:1?n=2&last=x>; rel="next", <https://other/prev>; rel=prev';
    expect(nextLink(header)).toBe('/v2/r/referrers/sha256:1?n=2&last=x');
    expect(nextLink(['<a>; rel="prev"', '<b>; title="x, y"; rel="next"'])).toBe('b');
  });

  it('reads space-separated relation types and ignores case', () => {
    expect(parseLinkHeader('<u>; REL="Next Last"')).toEqual([{ target: 'u', rels: ['next', 'last'] }]);
  });

  it('has no next when no link says so', () => {
    expect(nextLink(undefined)).toBeUndefined();
    expect(nextLink('<u>; rel="prev"')).toBeUndefined();
    expect(nextLink('rel="next"')).toBeUndefined();
    expect(nextLink('<>; rel=next')).toBeUndefined();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('<', '>', ';', ',', '"', '\\', '=', 'r', 'e', 'l', ' ', 'n') })), (s) => {
        for (const link of parseLinkHeader(s)) expect(typeof link.target).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });
});
