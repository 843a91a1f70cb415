import { TrustedRoot } from '@sigstore/protobuf-specs';
import { publicGoodTrustRoot } from '../../../src/trust/embedded';
import { trustRootFromFile, trustRootFromJSON, trustRootFromText } from '../../../src/trust/trusted-root';
import { FIXTURE, fixturePath, readFixtureJSON } from '../../support/fixtures';
import { describeInterop, interopPath } from '../../support/interop';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../support/json';
import { thrown } from '../../support/errors';

test('the embedded public-good root loads, with two Fulcio CAs and the Rekor v1 key', () => {
  const root = publicGoodTrustRoot();
  expect(root.material.certificateAuthorities).toHaveLength(2);
  expect(root.material.tlogs.map((t) => t.logID.toString('base64'))).toContain('wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=');
  expect(root.material.ctlogs).toHaveLength(2);
  // Parsed once per process.
  expect(publicGoodTrustRoot()).toBe(root);
});

test('historical keys keep their validity windows', () => {
  const ct2021 = publicGoodTrustRoot().material.ctlogs.find((c) => c.baseURL.endsWith('/test'))!;
  expect(ct2021.validFor.end.toISOString()).toBe('2022-10-31T23:59:59.999Z');
});

test('a validFor.end written as null (proto3 JSON for "absent") means no end', () => {
  // (sigstore-conformance's trust-root-tlog-validity-end-inclusive root has one.)
  const seeds = JSON.parse(readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8')) as Record<string, { targets: Record<string, string> }>;
  const trusted = JSON.parse(Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev']!.targets['trusted_root.json']!, 'base64').toString('utf8'));
  trusted.tlogs[0].publicKey.validFor.end = null;
  const loaded = trustRootFromJSON(trusted, 'null end');
  expect(loaded.material.tlogs[0]!.validFor.end.getTime()).toBeGreaterThan(Date.parse('9999-01-01T00:00:00Z'));
});

test("a root without transparency logs or CT logs loads (the shape of GitHub's root for private repositories)", () => {
  // `gh attestation trusted-root` prints GitHub's root with no "tlogs" and no "ctlogs" key at
  // all: its Fulcio issues no SCTs and its signatures carry RFC 3161 timestamps, not log entries.
  const seeds = JSON.parse(readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8')) as Record<string, { targets: Record<string, string> }>;
  const trusted = JSON.parse(Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev']!.targets['trusted_root.json']!, 'base64').toString('utf8'));
  delete trusted.tlogs;
  delete trusted.ctlogs;
  const loaded = trustRootFromJSON(trusted, 'no logs');
  expect(loaded.material.tlogs).toHaveLength(0);
  expect(loaded.material.ctlogs).toHaveLength(0);
  expect(loaded.material.timestampAuthorities.length).toBeGreaterThan(0);
});

describe('malformed trusted roots are rejected with TRUST_ROOT_INVALID', () => {
  // The public-good root's JSON, straight from the @sigstore/tuf seed.
  const seeds = JSON.parse(readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8'));
  const rootText = Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev'].targets['trusted_root.json'], 'base64').toString();
  const json = () => JSON.parse(rootText) as JsonObject;

  test.each<[string, (r: JsonObject) => unknown]>([
    ['not an object', () => 'x'],
    ['unknown media type', (r) => ({ ...r, mediaType: 'application/json' })],
    ['tlogs not a list', (r) => ({ ...r, tlogs: {} })],
    ['tlog key without validFor.start', (r) => (delete r.tlogs[0].publicKey.validFor.start, r)],
    ['tlog key not base64', (r) => ((r.tlogs[0].publicKey.rawBytes = '%%%'), r)],
    ['tlog without logId', (r) => (delete r.tlogs[0].logId, r)],
    ['CA with empty chain', (r) => ((r.certificateAuthorities[0].certChain.certificates = []), r)],
    ['CA cert not DER', (r) => ((r.certificateAuthorities[0].certChain.certificates[0].rawBytes = 'AAAA'), r)],
    ['CA validFor end before start', (r) => ((r.certificateAuthorities[0].validFor = { start: '2030-01-01T00:00:00Z', end: '2020-01-01T00:00:00Z' }), r)],
    ['ctlog key garbage', (r) => ((r.ctlogs[0].publicKey.rawBytes = 'AAAA'), r)],
  ])('%s', (_name, mutate) => {
    expect(() => trustRootFromJSON(json(), 'test')).not.toThrow();
    const err = thrown(() => trustRootFromJSON(mutate(json()), 'test'));
    expect(err.code).toBe('TRUST_ROOT_INVALID');
    expect(err.message).toMatch(/trusted root \(test\) is invalid/);
  });

  test('malformed JSON text and unreadable files', () => {
    expect(thrown(() => trustRootFromText('{"mediaType":', 'x')).message).toMatch(/not valid JSON/);
    expect(thrown(() => trustRootFromFile('/nonexistent/trusted_root.json')).message).toMatch(/cannot read file/);
    const dir = mkdtempSync(join(tmpdir(), 'imgverify-tr-'));
    writeFileSync(join(dir, 'tr.json'), '[]');
    expect(thrown(() => trustRootFromFile(join(dir, 'tr.json'))).code).toBe('TRUST_ROOT_INVALID');
  });
});

describe('real trusted roots (fixtures/)', () => {
  test.each([FIXTURE.prodTrustedRoot, FIXTURE.stagingTrustedRoot, ['bundles', 'cosign', 'trusted_root_pgi.json']].map((p) => [p.join('/'), p] as const))(
    '%s loads',
    (_name, parts) => {
      expect(() => trustRootFromFile(fixturePath(...parts))).not.toThrow();
    },
  );

  test('the embedded root equals the production trusted_root.json', () => {
    expect(TrustedRoot.toJSON(publicGoodTrustRoot().trustedRoot)).toEqual(
      TrustedRoot.toJSON(TrustedRoot.fromJSON(readFixtureJSON(...FIXTURE.prodTrustedRoot))),
    );
  });
});

describeInterop('an older real production root (interop)', () => {
  test('trust/prod_trusted_root.sigstore-go-examples.json loads', () => {
    expect(() => trustRootFromFile(interopPath('trust', 'prod_trusted_root.sigstore-go-examples.json'))).not.toThrow();
  });
});
