/**
 * trustMaterialVersion: a version of the trust material in force, by content (the webhook's
 * verdict cache keys on it, so a refreshed root is never answered from the root before).
 */
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { ImgverifyError } from '../../../src/errors';
import { publicGoodTrustRoot } from '../../../src/trust/embedded';
import { trustMaterialVersion, type TrustRootProvider } from '../../../src/trust/source';
import { trustRootFromJSON, type LoadedTrustRoot } from '../../../src/trust/trusted-root';
import { createTestSigstore } from '../../support/sigstore';

const publicGood = publicGoodTrustRoot();
const publicGoodJson = TrustedRoot.toJSON(publicGood.trustedRoot) as object;
const other = trustRootFromJSON(createTestSigstore().trustedRoot, 'test');

function provider(initial: LoadedTrustRoot): TrustRootProvider & { root: LoadedTrustRoot | Error } {
  const p = {
    source: 'switching',
    root: initial as LoadedTrustRoot | Error,
    current(): LoadedTrustRoot {
      if (p.root instanceof Error) throw p.root;
      return p.root;
    },
  };
  return p;
}

describe('trustMaterialVersion', () => {
  test('is a sha256 of the content: the same material loaded twice, from anywhere, has one version', () => {
    const again = trustRootFromJSON(publicGoodJson, 'another source name');
    expect(trustMaterialVersion([publicGood])).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(trustMaterialVersion([again])).toBe(trustMaterialVersion([publicGood]));
    expect(trustMaterialVersion([other])).not.toBe(trustMaterialVersion([publicGood]));
  });

  test("follows a provider's current root", () => {
    const p = provider(publicGood);
    const before = trustMaterialVersion([p]);
    expect(before).toBe(trustMaterialVersion([publicGood]));
    p.root = other;
    expect(trustMaterialVersion([p])).toBe(trustMaterialVersion([other]));
    p.root = trustRootFromJSON(publicGoodJson, 'refreshed, same content');
    expect(trustMaterialVersion([p])).toBe(before);
  });

  test('a provider that cannot give its root counts by its error code, not as any root', () => {
    const p = provider(publicGood);
    p.root = new ImgverifyError('TUF_METADATA_EXPIRED', 'expired');
    const expired = trustMaterialVersion([p]);
    expect(expired).not.toBe(trustMaterialVersion([publicGood]));
    p.root = new ImgverifyError('TUF_MIRROR_UNREACHABLE', 'not loaded yet');
    expect(trustMaterialVersion([p])).not.toBe(expired);
  });

  test('order and every source count', () => {
    expect(trustMaterialVersion([publicGood, other])).not.toBe(trustMaterialVersion([other, publicGood]));
    expect(trustMaterialVersion([publicGood, other])).not.toBe(trustMaterialVersion([publicGood]));
    expect(trustMaterialVersion([])).toBe(trustMaterialVersion([]));
  });

  test('a path or trusted-root JSON counts by its text', () => {
    expect(trustMaterialVersion(['/etc/a.json'])).not.toBe(trustMaterialVersion(['/etc/b.json']));
    expect(trustMaterialVersion([publicGoodJson])).toBe(trustMaterialVersion([structuredClone(publicGoodJson)]));
    expect(trustMaterialVersion([publicGoodJson])).not.toBe(trustMaterialVersion([TrustedRoot.toJSON(other.trustedRoot) as object]));
  });
});
