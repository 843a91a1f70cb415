/**
 * A real TUF repository for tests, signed with runtime keys (Ed25519 and ECDSA P-256) through
 * `@tufjs/models` (the repository side of tuf-js), served over real HTTP on 127.0.0.1 with an
 * ephemeral port. It holds a `trusted_root.json` target (the private test Sigstore's) and can
 * rotate its root, publish new versions, roll back, expire and be tampered with, as a mirror
 * under attack would be.
 *
 * Layout as Sigstore's (consistent snapshots): `N.root.json`, `timestamp.json`,
 * `N.snapshot.json`, `N.targets.json`, `targets/<sha256>.<name>`.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Key, Metadata, MetaFile, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
// Not re-exported from the package's entry point.
import { Role } from '@tufjs/models/dist/role';
import { canonicalize } from '@tufjs/canonical-json';
import type { JsonObject } from './json';

const DAY = 24 * 60 * 60 * 1000;

export interface TestKey {
  readonly key: Key;
  readonly privateKey: KeyObject;
}

function tufKey(type: 'ed25519' | 'ecdsa'): TestKey {
  const pair = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyVal =
    type === 'ed25519'
      ? { public: (pair.publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(-32).toString('hex') }
      : { public: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string };
  const body = { keytype: type, scheme: type === 'ed25519' ? 'ed25519' : 'ecdsa-sha2-nistp256', keyval: keyVal };
  const keyID = createHash('sha256').update(canonicalize(body)).digest('hex');
  return { key: new Key({ keyID, keyType: body.keytype, scheme: body.scheme, keyVal }), privateKey: pair.privateKey };
}

function signWith(metadata: Metadata<Root | Targets | Snapshot | Timestamp>, keys: readonly TestKey[]): void {
  for (const k of keys) {
    metadata.sign(
      (data) => new Signature({ keyID: k.key.keyID, sig: sign(k.key.keyType === 'ed25519' ? null : 'sha256', data, k.privateKey).toString('hex') }),
    );
  }
}

function iso(msFromNow: number): string {
  return new Date(Math.floor((Date.now() + msFromNow) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function bytesOf(metadata: Metadata<Root | Targets | Snapshot | Timestamp>): Buffer {
  return Buffer.from(JSON.stringify(metadata.toJSON(), null, 1));
}

export interface RoleKeys {
  readonly root: readonly TestKey[];
  readonly targets: TestKey;
  readonly snapshot: TestKey;
  readonly timestamp: TestKey;
}

export interface PublishOptions {
  /** Expiry of the timestamp from now, ms (default 7 days; negative: already expired). */
  readonly timestampExpiresIn?: number;
  /** Expiry of snapshot and targets from now, ms (default 1 year). */
  readonly expiresIn?: number;
}

export class TestTufRepository {
  /** What the server serves, by path; tests may change it. */
  readonly files = new Map<string, Buffer>();
  keys: RoleKeys;
  rootVersion = 0;
  private version = 0;
  private readonly targets = new Map<string, Buffer>();

  constructor(targets: Record<string, Buffer | string | object>, rootExpiresIn = 365 * DAY) {
    this.keys = { root: [tufKey('ed25519'), tufKey('ecdsa')], targets: tufKey('ecdsa'), snapshot: tufKey('ed25519'), timestamp: tufKey('ecdsa') };
    for (const [name, value] of Object.entries(targets)) this.setTarget(name, value);
    this.publishRoot(this.keys.root, rootExpiresIn);
    this.publish();
  }

  setTarget(name: string, value: Buffer | string | object): void {
    this.targets.set(name, Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value, null, 2)));
  }

  /** The root metadata of a version (the initial trusted root is version 1). */
  root(version = 1): Buffer {
    const bytes = this.files.get(`${version}.root.json`);
    if (!bytes) throw new Error(`no root version ${version}`);
    return bytes;
  }

  /**
   * A new root version: signed by the previous root keys and by the new ones (as TUF requires
   * for a rotation), with new keys for the other roles unless kept.
   */
  rotateRoot(options: { newRootKeys?: readonly TestKey[]; keepRoleKeys?: boolean; signers?: readonly TestKey[] } = {}): void {
    const previous = this.keys.root;
    const root = options.newRootKeys ?? [tufKey('ecdsa'), tufKey('ed25519')];
    this.keys = options.keepRoleKeys ? { ...this.keys, root } : { root, targets: tufKey('ed25519'), snapshot: tufKey('ecdsa'), timestamp: tufKey('ed25519') };
    this.publishRoot(options.signers ?? [...previous, ...root.filter((k) => !previous.includes(k))]);
    this.publish();
  }

  private publishRoot(signers: readonly TestKey[], expiresIn = 365 * DAY): void {
    this.rootVersion++;
    const k = this.keys;
    const keys: Record<string, Key> = {};
    for (const t of [...k.root, k.targets, k.snapshot, k.timestamp]) keys[t.key.keyID] = t.key;
    const role = (ks: readonly TestKey[]) => new Role({ keyIDs: ks.map((t) => t.key.keyID), threshold: ks.length });
    const root = new Root({
      version: this.rootVersion,
      specVersion: '1.0.31',
      expires: iso(expiresIn),
      keys,
      roles: { root: role(k.root), targets: role([k.targets]), snapshot: role([k.snapshot]), timestamp: role([k.timestamp]) },
      consistentSnapshot: true,
    });
    const metadata = new Metadata(root);
    signWith(metadata, signers);
    this.files.set(`${this.rootVersion}.root.json`, bytesOf(metadata));
  }

  /** A new version of targets, snapshot and timestamp. */
  publish(options: PublishOptions = {}): void {
    this.version++;
    const expires = iso(options.expiresIn ?? 365 * DAY);
    const files: Record<string, TargetFile> = {};
    for (const [name, bytes] of this.targets) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      files[name] = new TargetFile({ path: name, length: bytes.length, hashes: { sha256 } });
      this.files.set(`targets/${sha256}.${name}`, bytes);
    }
    const targets = new Metadata(new Targets({ version: this.version, specVersion: '1.0.31', expires, targets: files }));
    signWith(targets, [this.keys.targets]);
    const targetsBytes = bytesOf(targets);
    this.files.set(`${this.version}.targets.json`, targetsBytes);
    const snapshot = new Metadata(
      new Snapshot({
        version: this.version,
        specVersion: '1.0.31',
        expires,
        meta: {
          'targets.json': new MetaFile({
            version: this.version,
            length: targetsBytes.length,
            hashes: { sha256: createHash('sha256').update(targetsBytes).digest('hex') },
          }),
        },
      }),
    );
    signWith(snapshot, [this.keys.snapshot]);
    const snapshotBytes = bytesOf(snapshot);
    this.files.set(`${this.version}.snapshot.json`, snapshotBytes);
    const timestamp = new Metadata(
      new Timestamp({
        version: this.version,
        specVersion: '1.0.31',
        expires: iso(options.timestampExpiresIn ?? 7 * DAY),
        snapshotMeta: new MetaFile({
          version: this.version,
          length: snapshotBytes.length,
          hashes: { sha256: createHash('sha256').update(snapshotBytes).digest('hex') },
        }),
      }),
    );
    signWith(timestamp, [this.keys.timestamp]);
    this.files.set('timestamp.json', bytesOf(timestamp));
  }

  /** The served file, parsed and changed after signing (its signatures no longer match). */
  tamper(path: string, change: (json: JsonObject) => void): void {
    const json = JSON.parse(this.files.get(path)!.toString('utf8')) as JsonObject;
    change(json);
    this.files.set(path, Buffer.from(JSON.stringify(json, null, 1)));
  }

  /** Resolves once the served timestamp.json has expired (for tests of expired metadata). */
  async timestampExpired(): Promise<void> {
    const expires = Date.parse((JSON.parse(this.files.get('timestamp.json')!.toString('utf8')) as { signed: { expires: string } }).signed.expires);
    const wait = expires - Date.now() + 250;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** The path a target is served at. */
  targetPath(name: string): string {
    const bytes = this.targets.get(name)!;
    return `targets/${createHash('sha256').update(bytes).digest('hex')}.${name}`;
  }

  /** A copy of what is served now, to serve again later (a rollback). */
  snapshotFiles(): Map<string, Buffer> {
    return new Map(this.files);
  }

  restore(files: ReadonlyMap<string, Buffer>): void {
    this.files.clear();
    for (const [k, v] of files) this.files.set(k, v);
  }
}

export interface ServedRepository {
  readonly url: string;
  /** Paths requested, in order. */
  readonly requests: string[];
  /** Requests waiting for `release()` (a server started with `{ held: true }`). */
  pending(): number;
  /** Answers the held requests and every later one. */
  release(): void;
  stop(): Promise<void>;
}

/**
 * Serves the repository's files (live: later changes are served) over HTTP on 127.0.0.1.
 * `held`: requests are accepted but not answered until `release()` (a mirror that hangs).
 */
export async function serveTufRepository(repo: TestTufRepository, options: { held?: boolean } = {}): Promise<ServedRepository> {
  const requests: string[] = [];
  let held = options.held === true;
  const waiting: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/+/, ''));
    requests.push(path);
    const answer = (): void => {
      const body = repo.files.get(path);
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }).end(body);
    };
    if (held) waiting.push(answer);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    pending: () => waiting.length,
    release: () => {
      held = false;
      for (const answer of waiting.splice(0)) answer();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
