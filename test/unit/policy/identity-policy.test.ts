import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { compileIdentity, matchIdentity } from '../../../src/policy/identity-policy';
import { compilePolicy } from '../../../src/policy/policy';
import { compileRegExp } from '../../../src/policy/regexp';
import type { CertificateIdentity } from '../../../src/policy/certificate-identity';
import { generateKeyPairSync } from 'node:crypto';

const KREL = 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com';
const GOOGLE = 'https://accounts.google.com';
const signer = (names: string[], issuer?: string, claims: Record<string, string> = {}): CertificateIdentity => ({
  subjectAlternativeNames: names.map((value) => ({ type: 'email' as const, value })),
  ...(issuer !== undefined ? { issuer } : {}),
  claims,
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ImgverifyError ? err.code : 'UNCODED';
  }
  return undefined;
}

describe('exact identities', () => {
  const id = compileIdentity({ subject: KREL, issuer: GOOGLE });
  test('match exactly', () => {
    expect(matchIdentity(signer([KREL], GOOGLE), [id])).toEqual({ ok: true, subject: KREL, issuer: GOOGLE });
  });
  test('are never patterns: dots are literal', () => {
    const dotted = compileIdentity({ subject: 'a.b@x.com', issuer: GOOGLE });
    expect(matchIdentity(signer(['axb@x.com'], GOOGLE), [dotted]).ok).toBe(false);
    expect(matchIdentity(signer([`${KREL}.evil`], GOOGLE), [id]).ok).toBe(false);
    expect(matchIdentity(signer([`x${KREL}`], GOOGLE), [id]).ok).toBe(false);
  });
  test('any SAN of the certificate may match', () => {
    expect(matchIdentity(signer(['other@x.com', KREL], GOOGLE), [id]).ok).toBe(true);
  });
  test('wrong subject → IDENTITY_MISMATCH with both sides in the message', () => {
    const m = matchIdentity(signer(['eve@example.com'], GOOGLE), [id]);
    expect(m.ok).toBe(false);
    if (!m.ok) {
      expect(m.code).toBe('IDENTITY_MISMATCH');
      expect(m.message).toContain('eve@example.com');
      expect(m.message).toContain(KREL);
    }
  });
  test('right subject, wrong or missing issuer → ISSUER_MISMATCH', () => {
    const m = matchIdentity(signer([KREL], 'https://token.actions.githubusercontent.com'), [id]);
    expect(m.ok || m.code).toBe('ISSUER_MISMATCH');
    const n = matchIdentity(signer([KREL]), [id]);
    expect(n.ok || n.code).toBe('ISSUER_MISMATCH');
  });
  test('a certificate with no SAN fails', () => {
    const m = matchIdentity(signer([], GOOGLE), [id]);
    expect(m.ok || m.message).toContain('no subject alternative name');
  });
  test('one of several identities suffices', () => {
    const other = compileIdentity({ subject: 'x@y.z', issuer: 'https://x' });
    expect(matchIdentity(signer([KREL], GOOGLE), [other, id]).ok).toBe(true);
  });
});

describe('regexp identities (cosign semantics: RE2, unanchored)', () => {
  test('search, not full match', () => {
    const id = compileIdentity({ subjectRegExp: 'k8s-releng-prod', issuerRegExp: 'google' });
    expect(matchIdentity(signer([KREL], GOOGLE), [id]).ok).toBe(true);
  });
  test('anchors work', () => {
    const id = compileIdentity({ subjectRegExp: '^https://github\\.com/org/repo/', issuer: 'https://token.actions.githubusercontent.com' });
    expect(
      matchIdentity(signer(['https://github.com/org/repo/.github/workflows/r.yml@refs/tags/v1'], 'https://token.actions.githubusercontent.com'), [id]).ok,
    ).toBe(true);
    expect(matchIdentity(signer(['https://evil.com/https://github.com/org/repo/'], 'https://token.actions.githubusercontent.com'), [id]).ok).toBe(false);
  });
  test('invalid or non-RE2 patterns are INVALID_POLICY', () => {
    expect(codeOf(() => compileIdentity({ subjectRegExp: '(', issuer: GOOGLE }))).toBe('INVALID_POLICY');
    expect(codeOf(() => compileIdentity({ subjectRegExp: '(?=x)', issuer: GOOGLE }))).toBe('INVALID_POLICY');
    expect(codeOf(() => compileIdentity({ subjectRegExp: '(a)\\1', issuer: GOOGLE }))).toBe('INVALID_POLICY');
  });
  test('linear time on a pattern that backtracks catastrophically in JS', () => {
    const re = compileRegExp('^(a+)+$', 't');
    // With backtracking this input takes longer than the age of the universe.
    expect(re.test(`${'a'.repeat(5000)}!`)).toBe(false);
  });
});

describe('policy compilation', () => {
  test.each([
    [{}, 'subject or subjectRegExp is required'],
    [{ subject: KREL }, 'issuer or issuerRegExp is required'],
    [{ subject: KREL, subjectRegExp: 'x', issuer: GOOGLE }, 'not both'],
    [{ subject: '', issuer: GOOGLE }, 'empty'],
    [{ identities: [] }, 'at least one identity'],
  ])('%j → INVALID_POLICY', (policy, why) => {
    let caught: unknown;
    try {
      compilePolicy(policy);
    } catch (err) {
      caught = err;
    }
    expect((caught as ImgverifyError).code).toBe('INVALID_POLICY');
    expect((caught as ImgverifyError).message).toContain(why);
  });

  test('key policies accept ECDSA P-256/P-384, RSA, Ed25519 and reject others', () => {
    for (const [type, opts] of [
      ['ec', { namedCurve: 'P-256' }],
      ['ec', { namedCurve: 'P-384' }],
      ['rsa', { modulusLength: 2048 }],
      ['ed25519', {}],
    ] as const) {
      const { publicKey } = generateKeyPairSync(type as 'ec', opts as never) as unknown as { publicKey: import('node:crypto').KeyObject };
      const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const p = compilePolicy({ publicKey: pem });
      expect(p.kind).toBe('key');
    }
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    expect(codeOf(() => compilePolicy({ publicKey: publicKey.export({ type: 'spki', format: 'pem' }) }))).toBe('KEY_INVALID');
    expect(codeOf(() => compilePolicy({ publicKey: 'not a key' }))).toBe('KEY_INVALID');
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(codeOf(() => compilePolicy({ publicKey: privateKey }))).toBe('KEY_INVALID');
  });

  test('keys and identities are exclusive', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(codeOf(() => compilePolicy({ publicKey, subject: KREL, issuer: GOOGLE }))).toBe('INVALID_POLICY');
  });
});

test('property: an exact identity matches exactly itself', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string(), (subject, issuer, other) => {
      const id = compileIdentity({ subject, issuer });
      expect(matchIdentity(signer([subject], issuer), [id]).ok).toBe(true);
      expect(matchIdentity(signer([other], issuer), [id]).ok).toBe(other === subject);
    }),
  );
});

describe('claims', () => {
  const GH = 'https://token.actions.githubusercontent.com';
  const WF = 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.0.0';
  const claims = {
    sourceRepositoryURI: 'https://github.com/org/app',
    sourceRepositoryIdentifier: '123',
    sourceRepositoryRef: 'refs/tags/v1.0.0',
    githubWorkflowTrigger: 'push',
  };
  const gh = (c: Record<string, string> = claims) => signer([WF], GH, c);

  test('every named claim must match, exact or regexp', () => {
    const id = compileIdentity({
      subject: WF,
      issuer: GH,
      claims: { sourceRepositoryIdentifier: '123', githubWorkflowTrigger: 'push' },
      claimsRegExp: { sourceRepositoryRef: '^refs/tags/v' },
    });
    expect(matchIdentity(gh(), [id])).toEqual({
      ok: true,
      subject: WF,
      issuer: GH,
      checkedClaims: { githubWorkflowTrigger: 'push', sourceRepositoryRef: 'refs/tags/v1.0.0', sourceRepositoryIdentifier: '123' },
    });
    expect(id.description).toBe(
      `subject "${WF}" issued by "${GH}" with githubWorkflowTrigger "push", sourceRepositoryRef /^refs/tags/v/, sourceRepositoryIdentifier "123"`,
    );
  });

  test('a claim with another value is CLAIM_MISMATCH naming the claim, both values and the OID', () => {
    const id = compileIdentity({ subject: WF, issuer: GH, claims: { sourceRepositoryIdentifier: '999' } });
    const m = matchIdentity(gh(), [id]);
    expect(m).toMatchObject({
      ok: false,
      code: 'CLAIM_MISMATCH',
      details: { claim: 'sourceRepositoryIdentifier', oid: '1.3.6.1.4.1.57264.1.15', expected: '"999"', actual: '123' },
    });
    expect(!m.ok && m.message).toContain('sourceRepositoryIdentifier claim "123" does not: expected "999"');
  });

  test('a claim the certificate lacks is CLAIM_MISSING naming the claim and its extension', () => {
    const id = compileIdentity({ subject: WF, issuer: GH, claimsRegExp: { runnerEnvironment: '^github-hosted$' } });
    const m = matchIdentity(gh(), [id]);
    expect(m).toMatchObject({ ok: false, code: 'CLAIM_MISSING', details: { claim: 'runnerEnvironment', oid: '1.3.6.1.4.1.57264.1.11' } });
    expect(!m.ok && m.message).toContain('has no runnerEnvironment claim (extension 1.3.6.1.4.1.57264.1.11)');
  });

  test('an unreadable claim is CLAIM_MISSING with the reason', () => {
    const id = compileIdentity({ subject: WF, issuer: GH, claims: { buildTrigger: 'push' } });
    const m = matchIdentity({ ...gh(), unreadableClaims: { buildTrigger: 'extension 1.3.6.1.4.1.57264.1.20 is malformed: trailing bytes after the string' } }, [
      id,
    ]);
    expect(m).toMatchObject({ ok: false, code: 'CLAIM_MISSING' });
    expect(!m.ok && m.message).toContain('cannot be read (extension 1.3.6.1.4.1.57264.1.20 is malformed');
  });

  test('claim failures outrank issuer and identity mismatches of other identities; another identity may still pass', () => {
    const wrongClaim = compileIdentity({ subject: WF, issuer: GH, claims: { sourceRepositoryIdentifier: '999' } });
    const otherIssuer = compileIdentity({ subject: WF, issuer: GOOGLE });
    const otherSubject = compileIdentity({ subject: 'x@y.z', issuer: GH });
    const m = matchIdentity(gh(), [otherSubject, otherIssuer, wrongClaim]);
    expect(m).toMatchObject({ ok: false, code: 'CLAIM_MISMATCH' });
    expect(!m.ok && m.message).toContain('(policy: ');
    expect(
      matchIdentity(gh(), [
        wrongClaim,
        compileIdentity({ subjectRegExp: '^https://github\\.com/org/', issuer: GH, claims: { sourceRepositoryIdentifier: '123' } }),
      ]).ok,
    ).toBe(true);
  });

  test('claims are checked only once subject and issuer matched', () => {
    const id = compileIdentity({ subject: 'x@y.z', issuer: GH, claims: { sourceRepositoryIdentifier: '999' } });
    expect(matchIdentity(gh(), [id])).toMatchObject({ ok: false, code: 'IDENTITY_MISMATCH' });
  });

  test.each([
    [{ subject: KREL, issuer: GOOGLE, claims: { repository: 'x' } }, 'unknown certificate claim "repository"'],
    [
      { subject: KREL, issuer: GOOGLE, claims: { sourceRepositoryRef: 'a' }, claimsRegExp: { sourceRepositoryRef: 'b' } },
      'either in claims or in claimsRegExp',
    ],
    [{ subject: KREL, issuer: GOOGLE, claims: { sourceRepositoryRef: '' } }, 'claims.sourceRepositoryRef must be a non-empty string'],
    [{ subject: KREL, issuer: GOOGLE, claims: { sourceRepositoryRef: 7 } }, 'claims.sourceRepositoryRef must be a non-empty string'],
    [{ subject: KREL, issuer: GOOGLE, claimsRegExp: { sourceRepositoryRef: '(' } }, 'claimsRegExp.sourceRepositoryRef: invalid RE2'],
    [{ subject: KREL, issuer: GOOGLE, claims: ['x'] }, 'claims must be an object'],
    [{ subject: KREL, issuer: GOOGLE, claims: { sourceRepositoryRef: null } }, 'claims.sourceRepositoryRef must be a non-empty string'],
    // Issue 20.16: an unset environment variable was a claim silently not checked.
    [
      { subject: KREL, issuer: GOOGLE, claims: { sourceRepositoryIdentifier: undefined } },
      'claims.sourceRepositoryIdentifier is undefined (an unset variable?)',
    ],
    [{ subject: KREL, issuer: GOOGLE, claimsRegExp: { sourceRepositoryRef: undefined } }, 'claimsRegExp.sourceRepositoryRef is undefined (an unset variable?)'],
  ])('malformed claim policies are INVALID_POLICY: %p', (matcher, why) => {
    let caught: unknown;
    try {
      compileIdentity(matcher as never);
    } catch (err) {
      caught = err;
    }
    expect((caught as ImgverifyError).code).toBe('INVALID_POLICY');
    expect((caught as ImgverifyError).message).toContain(why);
  });

  test('property: an exact claim matches exactly its value', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), (value, other) => {
        const id = compileIdentity({ subject: WF, issuer: GH, claims: { sourceRepositoryDigest: value } });
        expect(matchIdentity(gh({ sourceRepositoryDigest: value }), [id]).ok).toBe(true);
        const m = matchIdentity(gh({ sourceRepositoryDigest: other }), [id]);
        expect(m.ok).toBe(other === value);
        expect(matchIdentity(gh({}), [id])).toMatchObject({ ok: false, code: 'CLAIM_MISSING' });
      }),
    );
  });
});
