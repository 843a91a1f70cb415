/**
 * Which trust roots an authority's Fulcio and Rekor URLs select, and the load error for a URL
 * no root lists (src/webhook/service-urls.ts).
 */
import { trustRootFromJSON } from '../../../src/trust/trusted-root';
import type { TrustRootProvider } from '../../../src/trust/source';
import { candidateRoots, rootsListing, sameService, selectingUrls, unknownServiceUrls } from '../../../src/webhook/service-urls';
import { createTestSigstore } from '../../support/sigstore';
import { parse, withAuthority, KEYLESS } from './policy-text';

const a = createTestSigstore({ organization: 'a.test', rekor: { baseUrl: 'http://rekor.rekor-system.svc' } });
const b = createTestSigstore({ organization: 'b.test' });
const rootA = trustRootFromJSON(a.trustedRoot, 'root a');
const rootB = trustRootFromJSON(b.trustedRoot, 'root b');

test.each([
  ['http://rekor.rekor-system.svc', 'https://rekor.rekor-system.svc/', true],
  ['https://Rekor.Example.test', 'https://rekor.example.test:443', true],
  ['https://rekor.example.test/api', 'https://rekor.example.test/api/', true],
  ['https://rekor.example.test', 'https://rekor.example.test:8443', false],
  ['https://rekor.example.test', 'https://rekor.example.test/other', false],
  ['https://rekor.example.test', 'https://rekor.example.test.evil', false],
  ['not a url', 'not a url', false],
])('sameService(%s, %s) is %s', (x, y, expected) => {
  expect(sameService(x, y)).toBe(expected);
});

test('a URL selects the roots that list it, per service', () => {
  const candidates = candidateRoots([rootA, rootB]);
  expect(rootsListing('http://rekor.rekor-system.svc', 'rekor', candidates)).toEqual([rootA]);
  expect(rootsListing(b.rekor.baseUrl, 'rekor', candidates)).toEqual([rootB]);
  // Both test instances' CAs are at https://fulcio.sigstore.test.
  expect(rootsListing('https://fulcio.sigstore.test', 'fulcio', candidates)).toEqual([rootA, rootB]);
  expect(rootsListing('http://rekor.rekor-system.svc', 'fulcio', candidates)).toEqual([]);
});

test('a provider that cannot answer yet lists nothing', () => {
  const unready: TrustRootProvider = {
    source: 'TrustRoot remote',
    current: () => {
      throw new Error('not loaded yet');
    },
  };
  expect(rootsListing('http://rekor.rekor-system.svc', 'rekor', candidateRoots([unready, rootA]))).toEqual([rootA]);
});

test('the URLs an authority selects by: none where a trustRootRef names that part', () => {
  const [policy] = parse(
    withAuthority(
      'keyless:\n  url: https://fulcio.internal\n  trustRootRef: mine\n  identities: [{issuer: a, subject: b}]\nctlog: {url: "https://rekor.internal"}',
    ),
  ).policies;
  expect(selectingUrls(policy!.authorities[0]!)).toEqual({ rekor: 'https://rekor.internal' });
});

test('an unknown URL is an error naming the file, document and field, and what the roots list', () => {
  const { policies } = parse(withAuthority(`${KEYLESS}\nctlog: {url: "https://rekor.unknown.test"}`), 'cip.yaml');
  const errors = unknownServiceUrls(policies, candidateRoots([rootA]));
  expect(errors.map((e) => e.message)).toEqual([
    'cip.yaml: document 0 (line 2): spec.authorities[0].ctlog.url: no trust root of the webhook lists the Rekor URL "https://rekor.unknown.test" as a transparency log (baseUrl); they list "http://rekor.rekor-system.svc" (root a): give the webhook a trust root for it (--trusted-root, a TrustRoot) or name one with a trustRootRef',
  ]);
  expect(errors[0]!.details).toMatchObject({ file: 'cip.yaml', path: 'spec.authorities[0].ctlog.url' });
  expect(
    unknownServiceUrls(
      policies,
      candidateRoots(
        [rootA],
        [
          {
            name: 'other',
            entry: trustRootFromJSON({ ...b.trustedRoot, tlogs: [{ ...b.trustedRoot.tlogs[0]!, baseUrl: 'https://rekor.unknown.test/' }] }, 'x'),
          },
        ],
      ),
    ),
  ).toEqual([]);
});
