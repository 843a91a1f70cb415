/**
 * Issue 14.4 (second security review): a registry's challenge decides where the client sends
 * credentials for a token. Over plain http that is only acceptable when the registry itself
 * may be spoken to without TLS (loopback, or allowed by the caller): a remote https registry
 * must not be able to point its realm at `http://localhost:N` and collect the password there.
 *
 * The realm is a real token server on loopback, which records every request; the registry
 * named `registry.example.test` is an https registry that is never contacted here (its
 * challenge is handed to the authenticator as a registry would send it).
 */
import { Authenticator } from '../../../src/registry/auth/authenticator';
import { parseChallenges } from '../../../src/registry/auth/challenge';
import { CredentialStore } from '../../../src/registry/auth/credentials';
import { HttpClient } from '../../../src/registry/transport/http';
import { HttpStack } from '../../../src/registry/transport/http-stack';
import { httpAllowance } from '../../../src/registry/transport/scheme';
import { startTokenServer, type TokenServer } from '../../support/registry';
import { rejection } from './helpers';

const USER = { username: 'bob', password: 'hunter22' };
const RETRY = { retries: 0, baseDelayMs: 1, maxDelayMs: 1000 };

describe('credentials and plain-http token realms (issue 14.4)', () => {
  let tokens: TokenServer;
  let agent: HttpStack;
  beforeAll(async () => {
    tokens = await startTokenServer({ users: [USER] });
    agent = new HttpStack({ proxy: false });
  });
  beforeEach(() => tokens.requests.splice(0));
  afterAll(async () => {
    await agent.close();
    await tokens?.stop();
  });

  const authenticator = (registry: string, allowHttp?: boolean | string[]) => {
    const allowance = httpAllowance(allowHttp);
    return new Authenticator(new HttpClient(agent, 'imgverify-test', 5000), RETRY, new CredentialStore({ [registry]: USER }, []), allowance);
  };
  const challenge = () => parseChallenges(`Bearer realm="${tokens.realm}",service="${tokens.service}"`);
  const ctx = (registry: string) => ({ registry, repository: 'team/app', subject: 'manifest "v1"' });

  it('a remote https registry pointing its realm at http://127.0.0.1 gets no credentials: INSECURE_REGISTRY_REFUSED', async () => {
    const auth = authenticator('registry.example.test');
    auth.learn('registry.example.test', challenge());
    const err = await rejection(
      auth.authorization({ registry: 'registry.example.test', repository: 'team/app' }, ctx('registry.example.test')),
      'INSECURE_REGISTRY_REFUSED',
    );
    expect(err.message).toContain('refusing to send credentials over plain http');
    expect(err.message).toContain('registry.example.test is neither loopback nor allowed plain http');
    // The token server never saw a request, with or without the password.
    expect(tokens.requests).toHaveLength(0);
  });

  it('the same challenge answered with a 401 is refused before any token request', async () => {
    const auth = authenticator('registry.example.test');
    const url = new URL('https://registry.example.test/v2/team/app/manifests/v1');
    await rejection(
      auth.onUnauthorized({ registry: 'registry.example.test', repository: 'team/app' }, challenge(), undefined, ctx('registry.example.test'), url, {
        codes: [],
      }),
      'INSECURE_REGISTRY_REFUSED',
    );
    expect(tokens.requests).toHaveLength(0);
  });

  it('a loopback registry may use a loopback http realm with credentials', async () => {
    const auth = authenticator('127.0.0.1:5000');
    auth.learn('127.0.0.1:5000', challenge());
    const authz = await auth.authorization({ registry: '127.0.0.1:5000', repository: 'team/app' }, ctx('127.0.0.1:5000'));
    expect(authz?.scheme).toBe('bearer');
    expect(tokens.requests).toMatchObject([{ status: 200, username: 'bob' }]);
  });

  it.each([[['registry.example.test']], [true]] as const)('a registry the caller allowed plain http (%j) may use an http realm', async (allowHttp) => {
    const auth = authenticator('registry.example.test', allowHttp as boolean | string[]);
    auth.learn('registry.example.test', challenge());
    const authz = await auth.authorization({ registry: 'registry.example.test', repository: 'team/app' }, ctx('registry.example.test'));
    expect(authz?.scheme).toBe('bearer');
    expect(tokens.requests).toMatchObject([{ status: 200, username: 'bob' }]);
  });

  it('anonymous token requests to such a realm are unchanged (no credentials at stake)', async () => {
    const auth = new Authenticator(new HttpClient(agent, 'imgverify-test', 5000), RETRY, new CredentialStore(undefined, []), httpAllowance(undefined));
    auth.learn('registry.example.test', challenge());
    const authz = await auth.authorization({ registry: 'registry.example.test', repository: 'team/app' }, ctx('registry.example.test'));
    expect(authz?.scheme).toBe('bearer');
    expect(tokens.requests[0]!.authorization).toBeUndefined();
  });
});
