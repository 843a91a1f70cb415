/**
 * Issue 20.8: what the HTTP stack throws, said as what it is. A network failure is the
 * registry's (REGISTRY_UNREACHABLE, operational); a TypeError or another error of the program
 * (undici 8 on Node.js 20 threw "Cannot read properties of undefined (reading 'bind')") is a
 * bug, INTERNAL_ERROR, never blamed on the registry.
 */
import type { Dispatcher } from 'undici';
import { ImgverifyError } from '../../../../src/errors';
import type { HttpStack } from '../../../../src/registry/transport/http-stack';
import { HttpClient } from '../../../../src/registry/transport/http';

function clientThrowing(thrown: unknown): HttpClient {
  const dispatcher = { request: () => Promise.reject(thrown) } as unknown as Dispatcher;
  const stack = { route: () => ({ dispatcher }) } as unknown as HttpStack;
  return new HttpClient(stack, 'imgverify-test', 5000);
}

const ctx = { registry: 'registry.example.test', repository: 'app', subject: 'manifest "v1"' };
const send = (client: HttpClient) => client.send({ url: new URL('https://registry.example.test/v2/'), method: 'GET', headers: {} }, ctx);

test.each([
  ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'bind')")],
  ['a RangeError', new RangeError('Invalid array length')],
  ['an invalid argument (undici)', Object.assign(new Error('invalid headers'), { code: 'UND_ERR_INVALID_ARG' })],
  ['a thrown non-Error', 'oops'],
])('%s from the HTTP stack is INTERNAL_ERROR', async (_what, thrown) => {
  const err = (await send(clientThrowing(thrown)).catch((e: unknown) => e)) as ImgverifyError;
  expect(err).toBeInstanceOf(ImgverifyError);
  expect(err.code).toBe('INTERNAL_ERROR');
  expect(err.message).toContain('manifest "v1" of registry.example.test/app: GET https://registry.example.test/v2/: unexpected error in the HTTP stack');
});

test.each([
  ['connection refused', Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }), 'REGISTRY_UNREACHABLE'],
  ['a dropped connection', Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 'REGISTRY_UNREACHABLE'],
  ['an unknown network error with a code', Object.assign(new Error('something odd'), { code: 'EHOSTDOWN' }), 'REGISTRY_UNREACHABLE'],
  ['a plain Error without a code', new Error('socket hang up'), 'REGISTRY_UNREACHABLE'],
])("%s is the registry's (%#)", async (_what, thrown, code) => {
  const err = (await send(clientThrowing(thrown)).catch((e: unknown) => e)) as ImgverifyError;
  expect(err.code).toBe(code);
});
