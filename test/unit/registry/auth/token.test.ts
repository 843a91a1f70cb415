import { ImgverifyError } from '../../../../src/errors';
import { parseTokenResponse } from '../../../../src/registry/auth/token';

const parse = (value: unknown) => parseTokenResponse(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), 1_000_000, 'token service', {});

describe('token responses', () => {
  it('takes token or access_token and honours expires_in, renewing a little early', () => {
    expect(parse({ token: 'abc', expires_in: 300 })).toEqual({ token: 'abc', expiresAt: 1_000_000 + 290_000 });
    expect(parse({ access_token: 'xyz' })).toEqual({ token: 'xyz', expiresAt: 1_000_000 + 54_000 });
    expect(parse({ token: '', access_token: 'xyz', expires_in: -5 }).token).toBe('xyz');
  });

  it.each([
    ['not JSON', 'nope'],
    ['an array', [1]],
    ['no token', { expires_in: 60 }],
    ['a token that would break the header', { token: 'abc\r\nX-Injected: 1' }],
    ['a non-string token', { token: 42 }],
  ])('rejects %s', (_name, body) => {
    expect(() => parse(body)).toThrow(ImgverifyError);
  });
});
