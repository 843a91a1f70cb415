/**
 * A Rekor v1 REST client, for what `cosign verify-blob` does without a bundle: find the log
 * entry of a signature online.
 *
 *   POST {url}/api/v1/index/retrieve  {"hash": "sha256:<hex>"}  → ["<uuid>", ...]
 *   GET  {url}/api/v1/log/entries/{uuid}                         → {"<uuid>": {body, integratedTime,
 *        logID, logIndex, verification: {signedEntryTimestamp, inclusionProof?}}}
 *
 * Nothing Rekor says is trusted here: answers are checked for shape and bounded in size and
 * number, and returned as transparency-log entries for the verification core, which verifies
 * the SET (and the inclusion proof with its signed checkpoint, when there is one) against the
 * trusted root and that the body names this signature, certificate and artifact digest. The
 * one thing checked here is that an entry is the one asked for (its leaf hash is the UUID's).
 */
import { createHash } from 'node:crypto';
import type { TransparencyLogEntry } from '@sigstore/bundle';
import { ImgverifyError } from '../errors';
import { rekorKindVersion } from '../cosign/legacy-signature';
import type { WebClient } from '../net/web-client';
import { checkUrl } from '../net/web-client';
import { decodeBase64, decodeHex } from '../util/encoding';
import { isRecord } from '../util/shape';

import { PUBLIC_GOOD_REKOR_URL } from './constants';

export { PUBLIC_GOOD_REKOR_URL };

/** UUIDs looked at per search: an artifact is rarely logged more than a few times. */
const MAX_ENTRIES_PER_SEARCH = 16;
/** An index answer is a list of UUIDs; an entry a few KB (a certificate, a signature, a proof). */
const MAX_INDEX_BYTES = 256 * 1024;
const MAX_ENTRY_BYTES = 1024 * 1024;

/** A Rekor entry as the log returned it, decoded (not verified). */
export interface RekorLogEntry {
  readonly uuid: string;
  /** Where it was read, for messages. */
  readonly url: string;
  readonly entry: TransparencyLogEntry;
}

function malformed(what: string, why: string): ImgverifyError {
  // A log that answers nonsense gives no entry we could verify: the signature has no usable entry.
  return new ImgverifyError('TLOG_ENTRY_MISSING', `Rekor answered ${what} with something that is not a log entry: ${why}`);
}

function json(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw malformed(what, 'not JSON');
  }
}

const UUID = /^(?:[0-9a-f]{16})?[0-9a-f]{64}$/;

function uint(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Decodes one entry of a `GET /api/v1/log/entries/{uuid}` answer. */
export function parseRekorEntry(value: unknown, uuid: string, what: string): TransparencyLogEntry {
  if (!isRecord(value)) throw malformed(what, 'the entry is not an object');
  const body = decodeBase64(value.body);
  if (!body || body.length === 0) throw malformed(what, 'body is not base64');
  const leaf = createHash('sha256')
    .update(Buffer.from([0]))
    .update(body)
    .digest('hex');
  if (!uuid.endsWith(leaf)) throw malformed(what, `the body's leaf hash ${leaf} is not the entry asked for (${uuid})`);
  const integratedTime = uint(value.integratedTime);
  const logIndex = uint(value.logIndex);
  const logID = decodeHex(value.logID);
  if (integratedTime === undefined || logIndex === undefined) throw malformed(what, 'integratedTime or logIndex is not a non-negative integer');
  if (!logID || logID.length !== 32) throw malformed(what, 'logID is not a 32-byte hex log ID');
  const verification = isRecord(value.verification) ? value.verification : {};
  const set = decodeBase64(verification.signedEntryTimestamp);
  let inclusionProof: TransparencyLogEntry['inclusionProof'];
  if (isRecord(verification.inclusionProof)) {
    const p = verification.inclusionProof;
    const rootHash = decodeHex(p.rootHash);
    const hashes = Array.isArray(p.hashes) ? p.hashes.map((h) => decodeHex(h)) : undefined;
    const treeSize = uint(p.treeSize);
    const proofIndex = uint(p.logIndex);
    if (!rootHash || !hashes || hashes.some((h) => !h) || treeSize === undefined || proofIndex === undefined || typeof p.checkpoint !== 'string') {
      throw malformed(what, 'the inclusion proof is incomplete');
    }
    inclusionProof = {
      logIndex: String(proofIndex),
      rootHash,
      treeSize: String(treeSize),
      hashes: hashes as Buffer[],
      checkpoint: { envelope: p.checkpoint },
    };
  }
  if (!set && !inclusionProof) throw malformed(what, 'neither a signed entry timestamp nor an inclusion proof');
  return {
    logIndex: String(logIndex),
    logId: { keyId: logID },
    kindVersion: rekorKindVersion(body),
    integratedTime: String(integratedTime),
    inclusionPromise: set ? { signedEntryTimestamp: set } : undefined,
    inclusionProof,
    canonicalizedBody: body,
  };
}

export class RekorClient {
  readonly baseUrl: URL;

  constructor(
    private readonly web: WebClient,
    baseUrl: string = PUBLIC_GOOD_REKOR_URL,
  ) {
    this.baseUrl = checkUrl(baseUrl.replace(/\/+$/, ''), 'Rekor URL');
  }

  private url(path: string): URL {
    return new URL(`${this.baseUrl.pathname.replace(/\/+$/, '')}${path}`, this.baseUrl);
  }

  /** UUIDs of the entries Rekor indexes under an artifact's SHA-256 (at most MAX_ENTRIES_PER_SEARCH). */
  async search(sha256: string, signal?: AbortSignal): Promise<string[]> {
    const what = `the index search for sha256:${sha256}`;
    const bytes = await this.web.postJson(
      this.url('/api/v1/index/retrieve'),
      { hash: `sha256:${sha256}` },
      {
        what: `the Rekor index search for sha256:${sha256}`,
        maxBytes: MAX_INDEX_BYTES,
        accept: 'application/json',
        ...(signal ? { signal } : {}),
      },
    );
    const list = json(bytes, what);
    if (!Array.isArray(list) || !list.every((u) => typeof u === 'string' && UUID.test(u))) throw malformed(what, 'not a list of entry UUIDs');
    return [...new Set(list as string[])].slice(0, MAX_ENTRIES_PER_SEARCH);
  }

  /** One entry by UUID, decoded (not verified). */
  async entry(uuid: string, signal?: AbortSignal): Promise<RekorLogEntry> {
    if (!UUID.test(uuid)) throw new ImgverifyError('INVALID_OPTIONS', `not a Rekor entry UUID: ${JSON.stringify(uuid)}`);
    const url = this.url(`/api/v1/log/entries/${uuid}`);
    const what = `entry ${uuid}`;
    const bytes = await this.web.get(url, { what: `Rekor ${what}`, maxBytes: MAX_ENTRY_BYTES, accept: 'application/json', ...(signal ? { signal } : {}) });
    const answer = json(bytes, what);
    if (!isRecord(answer)) throw malformed(what, 'not an object');
    const keys = Object.keys(answer);
    if (keys.length !== 1) throw malformed(what, `${keys.length} entries instead of 1`);
    const key = keys[0]!;
    // Rekor answers under the UUID with or without its 16-digit tree ID.
    if (!(key === uuid || key.endsWith(uuid) || uuid.endsWith(key))) throw malformed(what, `an entry under another UUID (${key})`);
    return { uuid: key, url: url.href, entry: parseRekorEntry(answer[key], key.length >= uuid.length ? key : uuid, what) };
  }
}
