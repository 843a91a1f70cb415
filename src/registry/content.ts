/**
 * Shape checks for what registries send: JSON objects, descriptors, image manifests and
 * indexes. Everything is validated field by field and copied into fresh objects; nothing
 * is cast. Failures are MALFORMED_CONTENT and name the field.
 */
import { ImgverifyError } from '../errors';
import { isRecord } from '../util/shape';
import { isDigestString } from './digest';
import { isMediaType } from './media-types';
import type { Descriptor, ImageIndexContent, ImageManifestContent, Platform } from './types';

const MAX_ANNOTATIONS = 1024;
const MAX_DESCRIPTORS = 10_000;

export type JsonObject = Readonly<Record<string, unknown>>;

/** Strict UTF-8 JSON that must be an object. `what` names the content for messages. */
export function parseJsonObject(bytes: Uint8Array, what: string, details: Record<string, unknown> = {}): JsonObject {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw malformed(what, 'is not valid UTF-8', details);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed(what, 'is not valid JSON', details);
  }
  if (!isRecord(json)) throw malformed(what, 'is not a JSON object', details);
  return json;
}

export function parseImageManifest(json: JsonObject, what: string, details: Record<string, unknown> = {}): ImageManifestContent {
  const v = new Validator(what, details);
  v.schemaVersion(json.schemaVersion);
  const layers = v.array(json.layers, 'layers').map((d, i) => v.descriptor(d, `layers[${i}]`));
  return {
    kind: 'image',
    schemaVersion: 2,
    ...optional('mediaType', v.optionalMediaType(json.mediaType, 'mediaType')),
    ...optional('artifactType', v.optionalMediaType(json.artifactType, 'artifactType')),
    config: v.descriptor(json.config, 'config'),
    layers,
    ...optional('subject', json.subject === undefined ? undefined : v.descriptor(json.subject, 'subject')),
    ...optional('annotations', v.annotations(json.annotations, 'annotations')),
  };
}

export function parseImageIndex(json: JsonObject, what: string, details: Record<string, unknown> = {}): ImageIndexContent {
  const v = new Validator(what, details);
  v.schemaVersion(json.schemaVersion);
  const manifests = v.array(json.manifests, 'manifests').map((d, i) => v.descriptor(d, `manifests[${i}]`));
  return {
    kind: 'index',
    schemaVersion: 2,
    ...optional('mediaType', v.optionalMediaType(json.mediaType, 'mediaType')),
    ...optional('artifactType', v.optionalMediaType(json.artifactType, 'artifactType')),
    manifests,
    ...optional('subject', json.subject === undefined ? undefined : v.descriptor(json.subject, 'subject')),
    ...optional('annotations', v.annotations(json.annotations, 'annotations')),
  };
}

class Validator {
  constructor(
    private readonly what: string,
    private readonly details: Record<string, unknown>,
  ) {}

  fail(field: string, why: string): ImgverifyError {
    return malformed(this.what, `field "${field}" ${why}`, { ...this.details, field });
  }

  schemaVersion(value: unknown): void {
    if (value !== 2) throw this.fail('schemaVersion', 'is not 2');
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) throw this.fail(field, 'is not an array');
    if (value.length > MAX_DESCRIPTORS) throw this.fail(field, `has more than ${MAX_DESCRIPTORS} entries`);
    return value;
  }

  optionalMediaType(value: unknown, field: string): string | undefined {
    if (value === undefined) return undefined;
    if (!isMediaType(value)) throw this.fail(field, 'is not a media type');
    return value;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string') throw this.fail(field, 'is not a string');
    return value;
  }

  optionalStrings(value: unknown, field: string): string[] | undefined {
    if (value === undefined) return undefined;
    return this.array(value, field).map((s, i) => this.string(s, `${field}[${i}]`));
  }

  annotations(value: unknown, field: string): Record<string, string> | undefined {
    // Go encoders write a nil map as null.
    if (value === undefined || value === null) return undefined;
    if (!isRecord(value)) throw this.fail(field, 'is not an object');
    const entries = Object.entries(value);
    if (entries.length > MAX_ANNOTATIONS) throw this.fail(field, `has more than ${MAX_ANNOTATIONS} entries`);
    for (const [key, v] of entries) if (typeof v !== 'string') throw this.fail(`${field}.${key}`, 'is not a string');
    // fromEntries defines own properties, so a "__proto__" key stays a plain key.
    return Object.fromEntries(entries) as Record<string, string>;
  }

  descriptor(value: unknown, field: string): Descriptor {
    if (!isRecord(value)) throw this.fail(field, 'is not an object');
    if (!isMediaType(value.mediaType)) throw this.fail(`${field}.mediaType`, 'is not a media type');
    if (!isDigestString(value.digest)) throw this.fail(`${field}.digest`, 'is not a valid digest');
    if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) {
      throw this.fail(`${field}.size`, 'is not a non-negative integer');
    }
    if (value.data !== undefined && (typeof value.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value.data))) {
      throw this.fail(`${field}.data`, 'is not base64');
    }
    return {
      mediaType: value.mediaType,
      digest: value.digest,
      size: value.size,
      ...optional('artifactType', this.optionalMediaType(value.artifactType, `${field}.artifactType`)),
      annotations: this.annotations(value.annotations, `${field}.annotations`) ?? {},
      ...optional('urls', this.optionalStrings(value.urls, `${field}.urls`)),
      ...optional('data', value.data),
      ...optional('platform', value.platform === undefined ? undefined : this.platform(value.platform, `${field}.platform`)),
    };
  }

  platform(value: unknown, field: string): Platform {
    if (!isRecord(value)) throw this.fail(field, 'is not an object');
    const opt = (key: string) => (value[key] === undefined ? undefined : this.string(value[key], `${field}.${key}`));
    return {
      architecture: this.string(value.architecture, `${field}.architecture`),
      os: this.string(value.os, `${field}.os`),
      ...optional('os.version', opt('os.version')),
      ...optional('os.features', this.optionalStrings(value['os.features'], `${field}.os.features`)),
      ...optional('variant', opt('variant')),
      ...optional('features', this.optionalStrings(value.features, `${field}.features`)),
    };
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function malformed(what: string, why: string, details: Record<string, unknown>): ImgverifyError {
  return new ImgverifyError('MALFORMED_CONTENT', `${what} ${why}`, { details });
}
