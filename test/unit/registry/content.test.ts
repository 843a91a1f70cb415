import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { parseImageIndex, parseImageManifest, parseJsonObject } from '../../../src/registry/content';
import { errorMessage } from '../../../src/util/describe';

const d = (over: Record<string, unknown> = {}) => ({ mediaType: 'application/octet-stream', digest: `sha256:${'a'.repeat(64)}`, size: 3, ...over });
const manifest = (over: Record<string, unknown> = {}) => ({ schemaVersion: 2, config: d(), layers: [d()], ...over });
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof ImgverifyError ? `${err.code}: ${err.message}` : `not ImgverifyError: ${errorMessage(err)}`;
  }
  return 'no error';
};

describe('manifest content validation', () => {
  it('copies a valid manifest into typed fields, annotations defaulting to empty', () => {
    const parsed = parseImageManifest(manifest({ subject: d(), artifactType: 'application/x.sig', annotations: { a: 'b' } }), 'm');
    expect(parsed).toMatchObject({ kind: 'image', artifactType: 'application/x.sig', annotations: { a: 'b' } });
    expect(parsed.layers[0]).toEqual({ ...d(), annotations: {} });
    expect(
      parseImageIndex({ schemaVersion: 2, manifests: [d({ platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } })] }, 'i').manifests[0]?.platform,
    ).toEqual({
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
    });
  });

  it.each([
    ['schemaVersion', manifest({ schemaVersion: 1 }), 'schemaVersion'],
    ['layers not an array', manifest({ layers: {} }), '"layers"'],
    ['config missing', manifest({ config: undefined }), '"config"'],
    ['negative size', manifest({ layers: [d({ size: -1 })] }), 'layers[0].size'],
    ['fractional size', manifest({ layers: [d({ size: 1.5 })] }), 'layers[0].size'],
    ['bad digest', manifest({ layers: [d({ digest: 'sha256:../../etc' })] }), 'layers[0].digest'],
    ['bad media type', manifest({ config: d({ mediaType: 'text' }) }), 'config.mediaType'],
    ['annotation not a string', manifest({ annotations: { a: 1 } }), 'annotations.a'],
    ['data not base64', manifest({ config: d({ data: '%%' }) }), 'config.data'],
  ])('rejects %s with MALFORMED_CONTENT naming the field', (_name, json, field) => {
    const result = codeOf(() => parseImageManifest(json, 'manifest "v1" of r/app'));
    expect(result).toMatch(/^MALFORMED_CONTENT: manifest "v1" of r\/app /);
    expect(result).toContain(field);
  });

  it('keeps a "__proto__" annotation as a plain key', () => {
    const parsed = parseImageManifest(
      parseJsonObject(Buffer.from(JSON.stringify(manifest()).replace('"layers"', '"annotations":{"__proto__":"x"},"layers"')), 'm'),
      'm',
    );
    expect(Object.getPrototypeOf(parsed.annotations)).toBe(Object.prototype);
    expect(Object.keys(parsed.annotations!)).toEqual(['__proto__']);
  });

  it('rejects bodies that are not UTF-8 JSON objects', () => {
    expect(codeOf(() => parseJsonObject(Buffer.from([0x7b, 0xff, 0x7d]), 'm'))).toMatch(/^MALFORMED_CONTENT: m is not valid UTF-8/);
    expect(codeOf(() => parseJsonObject(Buffer.from('[1]'), 'm'))).toMatch(/not a JSON object/);
    expect(codeOf(() => parseJsonObject(Buffer.from('{"a":'), 'm'))).toMatch(/not valid JSON/);
  });

  it('throws only MALFORMED_CONTENT on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        for (const json of [
          { schemaVersion: 2, config: a, layers: b },
          { schemaVersion: 2, manifests: a, subject: b },
        ]) {
          for (const parse of [parseImageManifest, parseImageIndex]) {
            const r = codeOf(() => parse(json, 'x'));
            expect(r === 'no error' || r.startsWith('MALFORMED_CONTENT')).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
