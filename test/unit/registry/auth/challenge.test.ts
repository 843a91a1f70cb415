import fc from 'fast-check';
import { findChallenge, parseChallenges } from '../../../../src/registry/auth/challenge';

const params = (header: string, scheme = 'bearer') => Object.fromEntries(findChallenge(parseChallenges(header), scheme)?.params ?? []);

describe('parseChallenges', () => {
  it('reads a registry bearer challenge', () => {
    const header = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"';
    expect(params(header)).toEqual({
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/nginx:pull',
    });
  });

  it('keeps commas, escapes and spaces inside quoted strings', () => {
    const header = 'Bearer realm="https://a/t?x=1,2", scope="repository:a:pull,push repository:b:pull", error="say \\"hi\\"\\\\"';
    expect(params(header)).toEqual({
      realm: 'https://a/t?x=1,2',
      scope: 'repository:a:pull,push repository:b:pull',
      error: 'say "hi"\\',
    });
  });

  it('splits several challenges in one header and across headers', () => {
    const one = parseChallenges('Basic realm="r1", Bearer realm="https://t/token",service=s');
    expect(one.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(Object.fromEntries(one[1]!.params)).toEqual({ realm: 'https://t/token', service: 's' });
    const many = parseChallenges(['Negotiate abc==', 'BASIC Realm=x']);
    expect(many[0]).toMatchObject({ scheme: 'negotiate', token68: 'abc==' });
    expect(Object.fromEntries(many[1]!.params)).toEqual({ realm: 'x' });
  });

  it('accepts unquoted tokens, white space around "=", empty list elements and a bare scheme', () => {
    expect(params('Bearer realm = https://t/token ,, service=svc')).toEqual({ realm: 'https://t/token', service: 'svc' });
    expect(parseChallenges('Bearer')).toEqual([{ scheme: 'bearer', params: new Map() }]);
  });

  it('keeps the first of repeated parameters', () => {
    expect(params('Bearer realm="https://good/token", realm="https://evil/token"').realm).toBe('https://good/token');
  });

  it('drops an unterminated quoted string instead of guessing', () => {
    expect(params('Bearer service="svc", realm="https://t/token')).toEqual({ service: 'svc' });
  });

  it('returns nothing for empty, absent or absurdly long headers', () => {
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges(`Bearer realm="${'a'.repeat(20_000)}"`)).toEqual([]);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.array(fc.string({ unit: 'grapheme-ascii' }))), (input) => {
        const result = parseChallenges(input);
        expect(Array.isArray(result)).toBe(true);
        for (const c of result) expect(c.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back any well-formed challenge list it is given', () => {
    const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,10}$/);
    const value = fc.string({ unit: fc.constantFrom('a', 'Z', '9', ' ', ',', '=', '"', '\\', ':', '/', ';') });
    const challenge = fc.record({
      scheme: token,
      params: fc.uniqueArray(fc.tuple(token, value), { selector: ([k]) => k.toLowerCase(), minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (list) => {
        const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
        const header = list.map((c) => `${c.scheme} ${c.params.map(([k, v]) => `${k}=${quote(v)}`).join(', ')}`).join(', ');
        const parsed = parseChallenges(header);
        expect(parsed.map((c) => c.scheme)).toEqual(list.map((c) => c.scheme.toLowerCase()));
        parsed.forEach((c, i) => {
          expect(Object.fromEntries(c.params)).toEqual(Object.fromEntries(list[i]!.params.map(([k, v]) => [k.toLowerCase(), v])));
        });
      }),
      { numRuns: 1000 },
    );
  });
});
