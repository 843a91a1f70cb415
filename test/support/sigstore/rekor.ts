// A test Rekor (v1): entry bodies exactly as Rekor canonicalizes them, Signed Entry
// Timestamps, a real RFC 6962 Merkle tree with inclusion proofs, and signed checkpoints in
// the C2SP signed-note format.
import crypto, { type KeyObject } from 'node:crypto';
import { type HashName, generateKeyPair, logIdOf, sha256, sign } from './keys';
import { canonicalJson, goJson } from './json';
import { MerkleTree, leafHash } from './merkle';

type RekorKind = 'hashedrekord' | 'dsse' | 'intoto';

export interface RekorEntry {
  /** Rekor v1 entry UUID: 16 hex digits of tree ID, then the hex leaf hash. */
  uuid: string;
  /** Global log index (what bundles, SETs and cosign annotations carry). */
  logIndex: number;
  /** Index in this shard's Merkle tree (what inclusion proofs carry). */
  treeIndex: number;
  /** Hex SHA-256 of the log's public key (DER SPKI). */
  logID: string;
  /** Unix seconds. */
  integratedTime: number;
  kind: RekorKind;
  apiVersion: string;
  /** The canonicalized entry body (the Merkle leaf). */
  body: NonSharedBuffer;
  /** ECDSA signature over the canonical {body, integratedTime, logID, logIndex}. */
  signedEntryTimestamp: NonSharedBuffer;
}

export interface InclusionProof {
  /** Tree (shard) index of the entry. */
  logIndex: number;
  treeSize: number;
  rootHash: NonSharedBuffer;
  /** Sibling hashes from the leaf up. */
  hashes: NonSharedBuffer[];
  /** The signed checkpoint for this tree size (signed note, ending with a newline). */
  checkpoint: string;
}

/** Signing key of an entry's SET: the log's own, or one no trusted root lists. */
type SetSigner = 'log' | 'unknown-key';

export interface AddEntryOptions {
  /** Unix seconds, or a Date (truncated to the second). */
  integratedTime: number | Date;
  setSigner?: SetSigner;
}

export interface HashedRekordInput extends AddEntryOptions {
  /** Hex SHA-256 of the signed bytes... */
  payloadSha256Hex?: string;
  /** ...or, for signatures over another hash, the digest with its algorithm (exactly one of the two). */
  payloadHash?: { algorithm: HashName; hex: string };
  signatureB64: string;
  /** The verifier: a certificate PEM or a public key PEM (exactly one). */
  certificatePEM?: string;
  publicKeyPEM?: string;
}

export interface DsseEnvelopeJson {
  payloadType: string;
  /** base64 */
  payload: string;
  signatures: Array<{ keyid?: string; sig: string }>;
}

export interface DsseInput extends AddEntryOptions {
  envelope: DsseEnvelopeJson;
  /** Certificate PEM or public key PEM of the (single) signer. */
  verifierPEM: string;
}

export interface RekorOptions {
  /** Base URL as it appears in trusted_root.json; its host names checkpoint signatures. */
  baseUrl?: string;
  /** Entries before this shard, so global log indexes differ from tree indexes as in production. */
  shardOffset?: number;
}

function toSeconds(time: number | Date): number {
  return typeof time === 'number' ? time : Math.floor(time.getTime() / 1000);
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export class TestRekor {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly logId: NonSharedBuffer;
  readonly baseUrl: string;
  /** Trillian tree ID, as in the production checkpoint origin "rekor.sigstore.dev - <treeID>". */
  readonly treeId: string;
  readonly shardOffset: number;
  readonly entries: RekorEntry[] = [];
  private readonly tree = new MerkleTree();
  private rogueKey?: KeyObject;

  constructor(options: RekorOptions = {}) {
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPair('ecdsa-p256'));
    this.logId = logIdOf(this.publicKey);
    this.baseUrl = options.baseUrl ?? 'https://rekor.sigstore.test';
    this.shardOffset = options.shardOffset ?? 0;
    this.treeId = (crypto.randomBytes(8).readBigUInt64BE() >> 1n).toString(); // a positive int64
  }

  /** The signer name of checkpoint signatures: the log's host (verifiers match it against baseUrl). */
  get hostname(): string {
    return new URL(this.baseUrl).host;
  }

  get origin(): string {
    return `${this.hostname} - ${this.treeId}`;
  }

  /** Logs a hashedrekord 0.0.1 entry, the kind cosign writes for image signatures. */
  addHashedRekord(input: HashedRekordInput): RekorEntry {
    const verifier = input.certificatePEM ?? input.publicKeyPEM;
    if (!verifier || (input.certificatePEM && input.publicKeyPEM)) {
      throw new Error('addHashedRekord needs exactly one of certificatePEM and publicKeyPEM');
    }
    const hash = input.payloadHash ?? (input.payloadSha256Hex ? { algorithm: 'sha256', hex: input.payloadSha256Hex } : undefined);
    if (!hash || (input.payloadHash && input.payloadSha256Hex)) {
      throw new Error('addHashedRekord needs exactly one of payloadSha256Hex and payloadHash');
    }
    const body = {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: hash.algorithm, value: hash.hex } },
        signature: { content: input.signatureB64, publicKey: { content: b64(verifier) } },
      },
    };
    return this.addBody(body, input);
  }

  /**
   * Logs a dsse 0.0.1 entry. Rekor hashes the envelope as Go marshals it (struct order,
   * keyid present even when empty) and stores the signatures with their verifiers.
   */
  addDsse(input: DsseInput): RekorEntry {
    const { envelope } = input;
    const envelopeForHash = {
      payloadType: envelope.payloadType,
      payload: envelope.payload,
      signatures: envelope.signatures.map((s) => ({ keyid: s.keyid ?? '', sig: s.sig })),
    };
    const body = {
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256(goJson(envelopeForHash)).toString('hex') },
        payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex') },
        signatures: envelope.signatures.map((s) => ({ signature: s.sig, verifier: b64(input.verifierPEM) })),
      },
    };
    return this.addBody(body, input);
  }

  /**
   * Logs an intoto 0.0.2 entry: the envelope without its payload, signatures base64-encoded a
   * second time, and `hash` over the canonical envelope with the verifier PEM in each signature
   * (the scheme sigstore-js uses; checked against a production entry).
   */
  addIntoto(input: DsseInput): RekorEntry {
    const { envelope } = input;
    const withKeyId = (s: { keyid?: string }): { keyid?: string } => (s.keyid ? { keyid: s.keyid } : {});
    const envelopeForHash = {
      payloadType: envelope.payloadType,
      payload: envelope.payload,
      signatures: envelope.signatures.map((s) => ({ ...withKeyId(s), sig: s.sig, publicKey: input.verifierPEM })),
    };
    const body = {
      apiVersion: '0.0.2',
      kind: 'intoto',
      spec: {
        content: {
          envelope: {
            payloadType: envelope.payloadType,
            signatures: envelope.signatures.map((s) => ({ ...withKeyId(s), publicKey: b64(input.verifierPEM), sig: b64(s.sig) })),
          },
          hash: { algorithm: 'sha256', value: sha256(canonicalJson(envelopeForHash)).toString('hex') },
          payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex') },
        },
      },
    };
    return this.addBody(body, input);
  }

  /** Appends any body (canonicalized here) and signs its SET. */
  addBody(body: { apiVersion: string; kind: string; spec: unknown }, options: AddEntryOptions): RekorEntry {
    const canonical = Buffer.from(canonicalJson(body as Parameters<typeof canonicalJson>[0]), 'utf8');
    const treeIndex = this.tree.append(canonical);
    const logIndex = this.shardOffset + treeIndex;
    const integratedTime = toSeconds(options.integratedTime);
    const logID = this.logId.toString('hex');
    const setPayload = canonicalJson({ body: canonical.toString('base64'), integratedTime, logID, logIndex });
    const setKey = (options.setSigner ?? 'log') === 'log' ? this.privateKey : this.unknownKey();
    const entry: RekorEntry = {
      uuid: BigInt(this.treeId).toString(16).padStart(16, '0') + leafHash(canonical).toString('hex'),
      logIndex,
      treeIndex,
      logID,
      integratedTime,
      kind: body.kind as RekorKind,
      apiVersion: body.apiVersion,
      body: canonical,
      signedEntryTimestamp: sign(Buffer.from(setPayload, 'utf8'), setKey, 'sha256'),
    };
    this.entries.push(entry);
    return entry;
  }

  /** A P-256 key unknown to every trusted root, for forged SETs and checkpoints. */
  unknownKey(): KeyObject {
    this.rogueKey ??= generateKeyPair('ecdsa-p256').privateKey;
    return this.rogueKey;
  }

  get treeSize(): number {
    return this.tree.size;
  }

  /**
   * A signed checkpoint (C2SP signed note) for a tree size:
   * "<origin>\n<size>\n<base64 root>\n\n— <host> <base64(key hint || signature)>\n", where the key
   * hint is the first 4 bytes of SHA-256(DER SPKI) and the signature is ECDSA-SHA256 over the note.
   */
  checkpoint(treeSize = this.treeSize, signer: 'log' | 'unknown-key' = 'log'): string {
    const note = `${this.origin}\n${treeSize}\n${this.tree.rootHash(treeSize).toString('base64')}\n`;
    const key = signer === 'log' ? this.privateKey : this.unknownKey();
    const signature = sign(Buffer.from(note, 'utf8'), key, 'sha256');
    const keyHint = logIdOf(key).subarray(0, 4);
    return `${note}\n\u2014 ${this.hostname} ${Buffer.concat([keyHint, signature]).toString('base64')}\n`;
  }

  /** Inclusion proof of an entry against the current tree (or an earlier size that contains it). */
  inclusionProof(entry: RekorEntry | number, treeSize = this.treeSize): InclusionProof {
    const treeIndex = typeof entry === 'number' ? entry - this.shardOffset : entry.treeIndex;
    return {
      logIndex: treeIndex,
      treeSize,
      rootHash: this.tree.rootHash(treeSize),
      hashes: this.tree.inclusionProof(treeIndex, treeSize),
      checkpoint: this.checkpoint(treeSize),
    };
  }
}
