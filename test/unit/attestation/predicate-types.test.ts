import fc from 'fast-check';
import { isRequestURI, PREDICATE_TYPE_NAMES, PREDICATE_TYPES, predicateTypeURI } from '../../../src/attestation/predicate-types';

describe("cosign's predicate type table", () => {
  it('has exactly the short names of `cosign attest --type`', () => {
    expect([...PREDICATE_TYPE_NAMES].sort()).toEqual(
      ['custom', 'cyclonedx', 'link', 'openvex', 'slsaprovenance', 'slsaprovenance02', 'slsaprovenance1', 'spdx', 'spdxjson', 'vuln'].sort(),
    );
  });

  it.each([
    ['custom', 'https://cosign.sigstore.dev/attestation/v1'],
    ['slsaprovenance', 'https://slsa.dev/provenance/v0.2'],
    ['slsaprovenance02', 'https://slsa.dev/provenance/v0.2'],
    ['slsaprovenance1', 'https://slsa.dev/provenance/v1'],
    ['spdx', 'https://spdx.dev/Document'],
    ['spdxjson', 'https://spdx.dev/Document'],
    ['cyclonedx', 'https://cyclonedx.org/bom'],
    ['link', 'https://in-toto.io/Link/v1'],
    ['vuln', 'https://cosign.sigstore.dev/attestation/vuln/v1'],
    ['openvex', 'https://openvex.dev/ns'],
  ])('%s -> %s', (name, uri) => {
    expect(predicateTypeURI(name)).toBe(uri);
    expect(PREDICATE_TYPES[name as keyof typeof PREDICATE_TYPES]).toBe(uri);
  });

  it('passes URIs through and rejects other words', () => {
    expect(predicateTypeURI('https://example.com/predicate/v1')).toBe('https://example.com/predicate/v1');
    expect(predicateTypeURI('SLSAPROVENANCE')).toBeUndefined(); // names are case-sensitive in cosign
    expect(predicateTypeURI('cyclonedxxml')).toBeUndefined(); // dropped from cosign's table
    expect(predicateTypeURI('toString')).toBeUndefined(); // not an inherited property
    expect(predicateTypeURI('')).toBeUndefined();
  });
});

describe("isRequestURI (Go's url.ParseRequestURI)", () => {
  it.each([
    'https://slsa.dev/provenance/v1',
    'http://example.com',
    'https://example.com:8443/a?b=c',
    'https://user:pass@example.com/x',
    'https://[::1]:8080/x',
    'https://example.com/a#frag', // no fragment splitting in request URIs
    'urn:example:predicate', // opaque
    'mailto:a@b.c',
    'HTTPS://EXAMPLE.COM',
    '/absolute/path',
    '//not-a-host/x', // a path, without a scheme
    '*',
    'https://example.com/%2F',
    'a+b.c-d://host',
  ])('accepts %j', (value) => {
    expect(isRequestURI(value)).toBe(true);
  });

  it.each([
    '',
    'custom-type',
    'cosign.sigstore.dev/attestation/v1', // no scheme, not absolute
    'relative/path',
    ':missing-scheme',
    '1http://x', // scheme must start with a letter
    'https://example.com/%zz',
    'https://exa mple.com/',
    'https://example.com:port/',
    'https://[::1/x',
    'https://bad^user@example.com/',
    'https://example.com/\n',
    'https://example.com/\x7f',
  ])('rejects %j', (value) => {
    expect(isRequestURI(value)).toBe(false);
  });

  it('accepts every http(s) URL WHATWG parsing normalises to itself', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true }), (url) => {
        expect(isRequestURI(url)).toBe(true);
      }),
    );
  });

  it('never accepts a string without scheme that does not start with "/"', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        fc.pre(!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(s) && !s.startsWith('/') && s !== '*');
        expect(isRequestURI(s)).toBe(false);
      }),
    );
  });
});
