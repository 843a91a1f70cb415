import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { parseReference } from '../../../src/reference';
import type { ClusterImagePolicy } from '../../../src/webhook/cluster-image-policy-types';
import {
  compileGlob,
  globMatch,
  globMatchesReference,
  globToExpression,
  matchPolicies,
  policyImageName,
  policyImageNames,
  registryAliases,
} from '../../../src/webhook/glob';
import { K8S_POLICY, KEYLESS, parse, withAuthority } from './policy-text';

const DIGEST = 'sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350';

// policy-controller pkg/apis/glob/glob_test.go, TestGlobMatch, row for row.
const UPSTREAM: Array<{ image: string; glob: string; match: boolean; err?: boolean }> = [
  { image: 'foo', glob: 'index.docker.io/library/foo:latest', match: true },
  { image: 'foo', glob: 'index.docker.io/library/foo:*', match: true },
  { image: 'foo', glob: 'index.docker.io/library/*', match: true },
  { image: 'foo', glob: 'index.docker.io/library/*:latest', match: true },
  { image: 'foo', glob: 'index.docker.io/*/*', match: true },
  { image: 'foo', glob: 'index.docker.io/**', match: true },
  { image: 'foo', glob: 'index.docker.**', match: true },
  { image: 'foo', glob: 'inde**', match: true },
  { image: 'foo', glob: '**', match: true },
  { image: 'foo', glob: 'foo', match: true }, // deprecated fallback
  { image: 'foo', glob: 'foo*', match: true },
  { image: 'foo', glob: 'foo**', match: true },

  { image: 'myuser/myapp', glob: 'index.docker.io/myuser/myapp:latest', match: true },
  { image: 'myuser/myapp', glob: 'index.docker.io/myuser/myapp:*', match: true },
  { image: 'myuser/myapp', glob: 'index.docker.io/myuser/*', match: true },
  { image: 'myuser/myapp', glob: 'index.docker.io/myuser/*:latest', match: true },
  { image: 'myuser/myapp', glob: 'index.docker.io/*/*', match: true },
  { image: 'myuser/myapp', glob: 'index.docker.io/**', match: true },
  { image: 'myuser/myapp', glob: 'index.docker.**', match: true },
  { image: 'myuser/myapp', glob: 'inde**', match: true },
  { image: 'myuser/myapp', glob: '**', match: true },
  { image: 'myuser/myapp', glob: 'myuser/myapp', match: true }, // deprecated fallback
  { image: 'myuser/myapp', glob: 'myuser/myapp*', match: true },
  { image: 'myuser/myapp', glob: 'myuser/myapp**', match: true },

  { image: 'ghcr.io/foo/bar', glob: 'ghcr.io/*/*', match: true },
  { image: 'ghcr.io/foo/bar', glob: 'ghcr.io/**', match: true },
  { image: 'ghcr.io/foo', glob: 'ghcr.io/*/*', match: false },
  { image: 'ghcr.io/foo', glob: 'ghcr.io/**', match: true },
  { image: 'ghcr.io/foo', glob: 'ghc**', match: true },
  { image: 'ghcr.io/foo', glob: '**', match: true },
  { image: 'ghcr.io/foo', glob: '*/**', match: true },
  { image: 'ghcr.io/foo', glob: 'ghcr.io/foo*', match: true },
  { image: 'ghcr.io/foo', glob: 'ghcr.io/foo**', match: true },

  { image: 'prefix-ghcr.io/foo', glob: 'ghcr.io/foo', match: false },
  { image: 'ghcr.io/foo-suffix', glob: 'ghcr.io/foo', match: false },
  { image: 'ghcrxio/foo', glob: 'ghcr.io/**', match: false },
  { image: 'invalid&name', glob: '**', match: false, err: true },
  { image: 'invalid-glob', glob: '.+', match: false, err: true },
  { image: 'invalid-glob', glob: '[a-z]*', match: false, err: true },

  { image: 'foo', glob: '*', match: true },
  { image: 'myuser/myapp', glob: '*/*', match: true },
];

describe('globMatch: policy-controller TestGlobMatch table', () => {
  test.each(UPSTREAM)('$image | $glob -> match $match', ({ image, glob, match, err }) => {
    if (err) {
      expect(() => globMatch(glob, image)).toThrow(ImgverifyError);
    } else {
      expect(globMatch(glob, image)).toBe(match);
    }
  });
});

describe('documented examples (docs.sigstore.dev policy-controller overview)', () => {
  const cases: Array<[string, string, boolean]> = [
    // "**" matches every image.
    ['**', 'busybox', true],
    ['**', 'registry.k8s.io/pause:3.9', true],
    [`**`, `ghcr.io/a/b/c@${DIGEST}`, true],
    // registry.k8s.io/** : everything in that registry, at any depth, any tag or digest.
    ['registry.k8s.io/**', 'registry.k8s.io/pause:3.9', true],
    ['registry.k8s.io/**', `registry.k8s.io/kube-apiserver@${DIGEST}`, true],
    ['registry.k8s.io/**', 'registry.k8s.io/sig-storage/csi-provisioner:v3.5.0', true],
    ['registry.k8s.io/**', 'k8s.gcr.io/pause:3.9', false],
    ['registry.k8s.io/**', 'registry.k8s.io.evil.com/pause', false],
    // ghcr.io/*/* : exactly two path components; "*" also covers the tag.
    ['ghcr.io/*/*', 'ghcr.io/sigstore/cosign:v2.2.0', true],
    ['ghcr.io/*/*', `ghcr.io/sigstore/cosign@${DIGEST}`, true],
    ['ghcr.io/*/*', 'ghcr.io/sigstore/cosign/cosign:v2.2.0', false],
    // gcr.io/vaikas/** (the static authority example).
    ['gcr.io/vaikas/**', 'gcr.io/vaikas/app', true],
    ['gcr.io/vaikas/**', 'gcr.io/vaikasx/app', false],
    // registry.local:5000/policy-controller/demo* (attestation examples): the port is literal.
    ['registry.local:5000/policy-controller/demo*', `registry.local:5000/policy-controller/demo@${DIGEST}`, true],
    ['registry.local:5000/policy-controller/demo*', 'registry.local:5000/policy-controller/demo-2:latest', true],
    ['registry.local:5000/policy-controller/demo*', 'registry.local:5001/policy-controller/demo', false],
    // Exact digest globs (accepted since upstream allows "@").
    [`ghcr.io/foo@${DIGEST}`, `ghcr.io/foo@${DIGEST}`, true],
    [`ghcr.io/foo@${DIGEST}`, `ghcr.io/foo:1.0@${DIGEST}`, true], // the tag is dropped next to a digest
    [`ghcr.io/foo@${DIGEST}`, 'ghcr.io/foo:1.0', false],
    // docker.io spellings all normalise to index.docker.io.
    ['index.docker.io/library/nginx:*', 'docker.io/library/nginx:1.25', true],
    ['index.docker.io/library/nginx:*', 'index.docker.io/nginx:1.25', true],
    ['index.docker.io/library/nginx:*', 'nginx:1.25', true],
    // A glob without a registry is not "docker.io by default" once the image is qualified:
    // "library/nginx*" only matches through the deprecated fallback on the raw string.
    ['library/nginx*', 'library/nginx', true],
    ['library/nginx*', 'docker.io/library/nginx', false],
    // A glob without wildcards must spell the tag too (the name always has one).
    ['ghcr.io/foo/bar', 'ghcr.io/foo/bar:latest', false],
    ['ghcr.io/foo/bar:latest', 'ghcr.io/foo/bar', true],
    // "*" never crosses "/", "**" does.
    ['ghcr.io/*', 'ghcr.io/a/b', false],
    ['ghcr.io/**', 'ghcr.io/a/b', true],
    ['ghcr.io/*/b*', 'ghcr.io/a/b:1', true],
  ];
  test.each(cases)('%s vs %s -> %s', (glob, image, match) => {
    expect(globMatch(glob, image)).toBe(match);
  });
});

describe('the webhook form (parsed reference, no fallback)', () => {
  it('does not apply the deprecated raw-string fallback', () => {
    expect(globMatchesReference('foo', parseReference('foo'))).toBe(false);
    expect(globMatchesReference('myuser/myapp', parseReference('myuser/myapp'))).toBe(false);
    expect(globMatchesReference('*', parseReference('foo'))).toBe(true);
    expect(globMatchesReference('*/*', parseReference('myuser/myapp'))).toBe(true);
  });

  it('matches digest references under every name: tag, digest and tag+digest (issue 9.6; policy-controller sees only the digest form)', () => {
    const ref = parseReference(`nginx:1.25@${DIGEST}`);
    expect(policyImageName(ref)).toBe(`index.docker.io/library/nginx@${DIGEST}`);
    expect(globMatchesReference('index.docker.io/library/*', ref)).toBe(true);
    expect(globMatchesReference('index.docker.io/library/nginx:**', ref)).toBe(true);
    expect(globMatchesReference('index.docker.io/library/nginx:1.25', ref)).toBe(true);
    expect(globMatchesReference(`index.docker.io/library/nginx:1.25@${DIGEST}`, ref)).toBe(true);
    expect(globMatchesReference('index.docker.io/library/nginx:1.24', ref)).toBe(false);
  });

  it('names references like go-containerregistry', () => {
    expect(policyImageName(parseReference('busybox'))).toBe('index.docker.io/library/busybox:latest');
    expect(policyImageName(parseReference('localhost:5000/a/b:1'))).toBe('localhost:5000/a/b:1');
    expect(policyImageName(parseReference('[::1]:5000/a'))).toBe('[::1]:5000/a:latest');
  });
});

describe('compileGlob', () => {
  it.each(['', ' ', 'ghcr.io/foo bar', '$FOO*', '[', 'a?b', 'a+b', 'a\\b', 'a#b', '(a)', 'a|b', 'A'.repeat(1025)])('rejects %j with INVALID_POLICY', (glob) => {
    expect(() => compileGlob(glob)).toThrow(expect.objectContaining({ code: 'INVALID_POLICY' }));
  });

  it('builds the regexp policy-controller builds', () => {
    expect(globToExpression('ghcr.io/*/**')).toBe('^ghcr\\.io/[^/]*/.*$');
    expect(globToExpression('*')).toBe('^index\\.docker\\.io/library/[^/]*$');
    expect(globToExpression('*/*')).toBe('^index\\.docker\\.io/[^/]*/[^/]*$');
    expect(globToExpression('***')).toBe('^.*[^/]*$');
  });

  // No timed assertion: a backtracking matcher would run past the test's timeout on this input.
  it('runs in linear time on adversarial input', () => {
    const glob = compileGlob('**a**a**a**a**a**a**a**a**b');
    const image = 'a'.repeat(5000);
    expect(glob.matches(image)).toBe(false);
  }, 30_000);
});

// --- properties -------------------------------------------------------------------------

const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}$/);
const registry = fc.oneof(
  fc.constantFrom('ghcr.io', 'registry.k8s.io', 'gcr.io', 'localhost:5000', 'quay.io', 'docker.io', 'index.docker.io'),
  fc.tuple(component, fc.constantFrom('.io', '.com', '.example:443')).map(([a, b]) => a.replace(/[._-]/g, '') + b),
);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`);
const imageArb = fc
  .tuple(registry, fc.array(component, { minLength: 1, maxLength: 4 }), fc.option(tag, { nil: undefined }), fc.option(digest, { nil: undefined }))
  .map(([reg, path, t, d]) => `${reg}/${path.join('/')}${t ? `:${t}` : ''}${d ? `@${d}` : ''}`);

describe('glob properties', () => {
  it('a glob without wildcards matches exactly its own normalised name', () => {
    fc.assert(
      fc.property(imageArb, imageArb, (a, b) => {
        const nameA = policyImageName(parseReference(a));
        const nameB = policyImageName(parseReference(b));
        const glob = compileGlob(nameA);
        expect(glob.matches(nameA)).toBe(true);
        expect(globMatchesReference(nameA, parseReference(a))).toBe(true);
        expect(glob.matches(nameB)).toBe(nameA === nameB);
      }),
    );
  });

  it('"**" matches everything; "<registry>/**" matches exactly that registry', () => {
    fc.assert(
      fc.property(imageArb, registry, (image, reg) => {
        const ref = parseReference(image);
        expect(globMatchesReference('**', ref)).toBe(true);
        const wanted = policyImageName(parseReference(`${reg}/x`)).split('/')[0]!;
        expect(globMatchesReference(`${wanted}/**`, ref)).toBe(policyImageName(ref).startsWith(`${wanted}/`));
      }),
    );
  });

  it('"*" never matches across "/"', () => {
    fc.assert(
      fc.property(imageArb, (image) => {
        const name = policyImageName(parseReference(image));
        const slashes = name.split('/').length - 1;
        // registry + N path components: a glob with one "*" per component matches, one fewer does not.
        const exact = Array.from({ length: slashes + 1 }, () => '*').join('/');
        // ("*" and "*/*" alone are Docker Hub shorthands, rule 6, so they are not used here.)
        if (exact !== '*/*') expect(compileGlob(exact).matches(name)).toBe(true);
        const fewer = Array.from({ length: slashes }, () => '*').join('/');
        if (fewer !== '*' && fewer !== '*/*') expect(compileGlob(fewer).matches(name)).toBe(false);
      }),
    );
  });

  it('compileGlob accepts exactly the glob alphabet', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (glob) => {
        const valid = /^[A-Za-z0-9_:/*.@-]+$/.test(glob);
        let threw: unknown;
        try {
          compileGlob(glob);
        } catch (err) {
          threw = err;
        }
        if (valid) expect(threw).toBeUndefined();
        else expect(threw).toBeInstanceOf(ImgverifyError);
      }),
    );
  });
});

describe('every name of an image (issue 9.6): a policy cannot be escaped by naming the image another way', () => {
  const governed = (glob: string, image: string) => globMatchesReference(glob, parseReference(image));

  it.each([
    // A repository glob (any tag) governs the pinned references, which have no tag.
    ['127.0.0.1:5000/app:*', `127.0.0.1:5000/app@${DIGEST}`, true],
    ['127.0.0.1:5000/app:**', `127.0.0.1:5000/app@${DIGEST}`, true],
    ['127.0.0.1:5000/app:*', `127.0.0.1:5000/app:v1@${DIGEST}`, true],
    ['127.0.0.1:5000/app@*', '127.0.0.1:5000/app:v1', true],
    ['ghcr.io/org/*:*', `ghcr.io/org/app@${DIGEST}`, true],
    // A glob limited to some tags cannot know a digest reference's tag.
    ['127.0.0.1:5000/app:v1*', `127.0.0.1:5000/app@${DIGEST}`, false],
    ['127.0.0.1:5000/app:v1*', `127.0.0.1:5000/app:v1.2@${DIGEST}`, true],
    // Registry spellings: IPv4 forms, loopback names, default port, Docker Hub aliases.
    ['127.0.0.1:5000/**', '127.1:5000/app:v1', true],
    ['127.0.0.1:5000/**', '0x7f.0.0.1:5000/app:v1', true],
    ['127.0.0.1:5000/**', 'localhost:5000/app:v1', true],
    ['127.0.0.1:5000/**', '[::1]:5000/app:v1', true],
    ['localhost:5000/**', '127.0.0.1:5000/app:v1', true],
    ['127.0.0.1:5000/**', '127.0.0.2:5000/app:v1', false],
    ['127.0.0.1:5000/**', 'localhost:5001/app:v1', false],
    ['ghcr.io/org/**', 'ghcr.io:443/org/app:v1', true],
    ['ghcr.io:443/org/**', 'ghcr.io/org/app:v1', true],
    ['ghcr.io/org/**', 'ghcr.io:8443/org/app:v1', false],
    // Ports are numbers; IPv4-mapped IPv6 is its IPv4 address; 0.0.0.0 and [::] connect to loopback (issue 20.14).
    ['127.0.0.1:5000/**', '127.0.0.1:05000/app:v1', true],
    ['127.0.0.1:5000/**', 'localhost:0005000/app:v1', true],
    ['127.0.0.1:5000/**', '127.0.0.1:50000/app:v1', false],
    ['ghcr.io/org/**', 'ghcr.io:0443/org/app:v1', true],
    ['ghcr.io:443/org/**', 'ghcr.io:00443/org/app:v1', true],
    ['ghcr.io/org/**', 'ghcr.io:4430/org/app:v1', false],
    ['127.0.0.1:5000/**', '[::ffff:7f00:1]:5000/app:v1', true],
    ['localhost:5000/**', '[0:0:0:0:0:ffff:7f00:1]:05000/app:v1', true],
    ['127.0.0.1:5000/**', '[::ffff:7f00:2]:5000/app:v1', false],
    ['10.0.0.7:5000/**', '[::ffff:a00:7]:5000/app:v1', true],
    ['127.0.0.1:5000/**', '0.0.0.0:5000/app:v1', true],
    ['localhost:5000/**', '[::]:5000/app:v1', true],
    ['0.0.0.0:5000/**', '127.0.0.1:5000/app:v1', true],
    ['127.0.0.1:5000/app:*', `[::ffff:7f00:1]:05000/app@${DIGEST}`, true],
    ['index.docker.io/library/nginx:*', 'registry-1.docker.io/library/nginx:1.27', true],
    ['index.docker.io/library/nginx:*', 'registry-1.docker.io/nginx:1.27', true],
    ['index.docker.io/library/nginx:*', 'docker.io/nginx:1.27', true],
    ['docker.io/library/**', 'nginx', true],
    ['registry.hub.docker.com/**', 'nginx', true],
    ['index.docker.io/library/nginx:*', 'quay.io/library/nginx:1.27', false],
  ])('%s governs %s: %s', (glob, image, match) => {
    expect(governed(glob, image)).toBe(match);
  });

  it('lists the names: canonical first, each form over each spelling', () => {
    const names = policyImageNames(parseReference(`localhost:5000/app:v1@${DIGEST}`));
    expect(names[0]).toBe(`localhost:5000/app@${DIGEST}`);
    expect(names).toEqual(expect.arrayContaining([`127.0.0.1:5000/app:v1`, `[::1]:5000/app:v1@${DIGEST}`, `localhost:5000/app@${DIGEST}`]));
    expect(registryAliases('GHCR.io')).toEqual(['ghcr.io', 'ghcr.io:443']);
    expect(registryAliases('[::0001]:5000')).toEqual(['localhost:5000', '127.0.0.1:5000', '[::1]:5000', '0.0.0.0:5000', '[::]:5000']);
    expect(registryAliases('[::ffff:7f00:1]:05000')).toEqual(registryAliases('localhost:5000'));
    expect(registryAliases('GHCR.io:0443')).toEqual(['ghcr.io', 'ghcr.io:443']);
  });
});

describe('matchPolicies', () => {
  const load = (text: string): ClusterImagePolicy[] => {
    const result = parse(text);
    expect(result.errors).toEqual([]);
    return result.policies;
  };
  const policies = load(
    [
      K8S_POLICY,
      withAuthority(KEYLESS).replace('name: test', 'name: ghcr-all'),
      withAuthority(KEYLESS).replace('name: test', 'name: ghcr-org').replace('ghcr.io/**', 'ghcr.io/org/*'),
      withAuthority('static: {action: pass}').replace('name: test', 'name: hub').replace('"ghcr.io/**"', '"index.docker.io/library/*"'),
    ].join('\n---\n'),
  );

  it.each([
    ['registry.k8s.io/pause:3.9', ['registry-k8s-io']],
    ['ghcr.io/org/app:1', ['ghcr-all', 'ghcr-org']],
    ['ghcr.io/org/team/app:1', ['ghcr-all']],
    ['ghcr.io/other/app@sha256:' + 'a'.repeat(64), ['ghcr-all']],
    ['nginx', ['hub']],
    ['docker.io/library/nginx:1', ['hub']],
    ['docker.io/bitnami/nginx:1', []],
    ['quay.io/org/app', []],
  ])('%s -> %j', (image, names) => {
    expect(matchPolicies(policies, parseReference(image)).map((p) => p.name)).toEqual(names);
  });
});
