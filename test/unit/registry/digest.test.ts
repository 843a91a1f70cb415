import { createHash } from 'node:crypto';
import { type ImgverifyError } from '../../../src/errors';
import { computeDigest, isDigestString, verifyDigest } from '../../../src/registry/digest';
import { referrersTag } from '../../../src/registry/referrers';

const bytes = Buffer.from('{"schemaVersion":2}');
const sha256 = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const sha512 = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;

describe('digests', () => {
  it('computes and verifies sha256 and sha512', () => {
    expect(computeDigest('sha256', bytes)).toBe(sha256);
    expect(() => verifyDigest(sha256, bytes, 'x')).not.toThrow();
    expect(() => verifyDigest(sha512, bytes, 'x')).not.toThrow();
  });

  it('throws DIGEST_MISMATCH with both digests when one byte differs', () => {
    const tampered = Buffer.from(bytes);
    tampered[0] = 0x20;
    let err: ImgverifyError | undefined;
    try {
      verifyDigest(sha256, tampered, 'manifest "v1" of r/app', { registry: 'r' });
    } catch (e) {
      err = e as ImgverifyError;
    }
    expect(err?.code).toBe('DIGEST_MISMATCH');
    expect(err?.message).toContain('manifest "v1" of r/app');
    expect(err?.details).toMatchObject({ expected: sha256, actual: computeDigest('sha256', tampered), registry: 'r' });
  });

  it('accepts OCI digests, checks known algorithms strictly', () => {
    expect(isDigestString(sha256)).toBe(true);
    expect(isDigestString('multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8')).toBe(true);
    expect(isDigestString(sha256.toUpperCase())).toBe(false);
    expect(isDigestString('sha256:abc')).toBe(false);
    expect(isDigestString(`${sha256}/../x`)).toBe(false);
    expect(isDigestString(42)).toBe(false);
  });

  it('names the referrers tag as the distribution spec says', () => {
    expect(referrersTag(sha256)).toBe(`sha256-${sha256.slice(7)}`);
    expect(referrersTag(sha512)).toBe(`sha512-${sha512.slice(7, 7 + 64)}`);
    expect(
      referrersTag(
        'test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation',
      ),
    ).toBe('test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot');
  });
});
