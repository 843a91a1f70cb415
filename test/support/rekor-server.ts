/**
 * A Rekor v1 REST API over real HTTP (127.0.0.1, ephemeral port), serving the entries of a
 * test Sigstore's Rekor (test/support/sigstore/rekor.ts) as rekor.sigstore.dev does:
 *
 *   POST /api/v1/index/retrieve        {"hash": "sha256:<hex>"} → ["<uuid>", ...]
 *   GET  /api/v1/log/entries/<uuid>    → {"<uuid>": {body, integratedTime, logID, logIndex,
 *                                          verification: {signedEntryTimestamp, inclusionProof}}}
 *
 * Entries carry their real SET and an inclusion proof against the log's current tree with a
 * signed checkpoint. `behaviour` makes it lie in one way (each a negative test of the client's
 * "never trust Rekor"), or be down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, sign } from './sigstore/keys';
import { canonicalJson } from './sigstore/json';
import type { RekorEntry, TestRekor } from './sigstore/rekor';

export type RekorBehaviour =
  | 'honest'
  /** The index answers with the entries of other artifacts (never the one asked for). */
  | 'other-artifact'
  /** Entries carry an inclusion proof whose hashes were altered (their SET is still valid). */
  | 'bad-proof'
  /** Entries carry a SET signed by a key no trusted root lists (their proof is still valid). */
  | 'bad-set'
  /** Entries carry a checkpoint signed by a key no trusted root lists. */
  | 'bad-checkpoint'
  /** Entries carry another integrated time than the one the log signed. */
  | 'other-time'
  /** Entries are answered under another UUID than the one asked for. */
  | 'wrong-uuid'
  /** Entries have only their SET, no inclusion proof (older Rekor answers). */
  | 'set-only'
  /** Every request is answered 503. */
  | 'unavailable'
  /** Answers are not JSON. */
  | 'garbage'
  /** The index lists first a UUID the log answers 404 for (an index ahead of, or out of step with, the log), then the real ones. */
  | 'stale-first'
  /** The index answers more than a client accepts (300 000 UUIDs' worth). */
  | 'huge-index';

export interface RunningRekorServer {
  readonly url: string;
  behaviour: RekorBehaviour;
  /** Requests received, `METHOD path`. */
  readonly requests: string[];
  stop(): Promise<void>;
}

function artifactHashOf(entry: RekorEntry): string | undefined {
  try {
    const body = JSON.parse(entry.body.toString('utf8')) as { spec?: { data?: { hash?: { algorithm?: string; value?: string } } } };
    const hash = body.spec?.data?.hash;
    return hash?.algorithm && hash.value ? `${hash.algorithm}:${hash.value}` : undefined;
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startRekorServer(rekor: TestRekor, behaviour: RekorBehaviour = 'honest'): Promise<RunningRekorServer> {
  const requests: string[] = [];
  const rogue = generateKeyPair('ecdsa-p256').privateKey;
  const state = { behaviour };

  const entryJson = (entry: RekorEntry): Record<string, unknown> => {
    const proof = rekor.inclusionProof(entry);
    let hashes = proof.hashes.map((h) => h.toString('hex'));
    let checkpoint = proof.checkpoint;
    let set = entry.signedEntryTimestamp.toString('base64');
    let integratedTime = entry.integratedTime;
    switch (state.behaviour) {
      case 'bad-proof':
        // One sibling hash altered; a proof of a one-entry tree gets a bogus sibling.
        hashes = hashes.length > 0 ? [hashes[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0')), ...hashes.slice(1)] : ['00'.repeat(32)];
        break;
      case 'bad-set':
        set = sign(
          Buffer.from(
            canonicalJson({ body: entry.body.toString('base64'), integratedTime: entry.integratedTime, logID: entry.logID, logIndex: entry.logIndex }),
            'utf8',
          ),
          rogue,
          'sha256',
        ).toString('base64');
        break;
      case 'bad-checkpoint':
        checkpoint = rekor.checkpoint(proof.treeSize, 'unknown-key');
        break;
      case 'other-time':
        // Still inside the certificate's validity, so that only the SET can tell.
        integratedTime = entry.integratedTime - 30;
        break;
      default:
        break;
    }
    return {
      body: entry.body.toString('base64'),
      integratedTime,
      logID: entry.logID,
      logIndex: entry.logIndex,
      verification: {
        signedEntryTimestamp: set,
        ...(state.behaviour === 'set-only'
          ? {}
          : { inclusionProof: { checkpoint, hashes, logIndex: proof.logIndex, rootHash: proof.rootHash.toString('hex'), treeSize: proof.treeSize } }),
      },
    };
  };

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0]!;
    requests.push(`${req.method} ${path}`);
    if (state.behaviour === 'unavailable') return send(res, 503, { code: 503, message: 'service unavailable' });
    if (state.behaviour === 'garbage') return send(res, 200, '<html>not rekor</html>');
    if (req.method === 'POST' && path === '/api/v1/index/retrieve') {
      let hash: unknown;
      try {
        hash = (JSON.parse(await readBody(req)) as { hash?: unknown }).hash;
      } catch {
        return send(res, 400, { code: 400, message: 'invalid JSON' });
      }
      if (typeof hash !== 'string') return send(res, 422, { code: 422, message: 'hash is required' });
      const matching = rekor.entries.filter((e) => (state.behaviour === 'other-artifact' ? artifactHashOf(e) !== hash : artifactHashOf(e) === hash));
      if (state.behaviour === 'huge-index')
        return send(
          res,
          200,
          Array.from({ length: 5000 }, (_, i) => i.toString(16).padStart(64, '0')),
        );
      const stale = state.behaviour === 'stale-first' && matching.length > 0 ? ['f'.repeat(64)] : [];
      return send(res, 200, [...stale, ...matching.map((e) => e.uuid)]);
    }
    const m = /^\/api\/v1\/log\/entries\/([0-9a-f]{64,80})$/.exec(path);
    if (req.method === 'GET' && m) {
      const asked = m[1]!;
      const entry = rekor.entries.find((e) => e.uuid === asked || e.uuid.endsWith(asked));
      if (!entry) return send(res, 404, { code: 404, message: 'entry not found' });
      const key = state.behaviour === 'wrong-uuid' ? (rekor.entries.find((e) => e !== entry)?.uuid ?? `${entry.uuid.slice(0, -1)}0`) : entry.uuid;
      return send(res, 200, { [key]: entryJson(entry) });
    }
    return send(res, 404, { code: 404, message: 'not found' });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(value: RekorBehaviour) {
      state.behaviour = value;
    },
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
