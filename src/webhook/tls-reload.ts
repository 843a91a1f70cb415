/**
 * The webhook's HTTPS server and its serving certificate, which follows the files.
 *
 * The certificate folders are watched (a mounted Secret changes by swapping its `..data`
 * symlink) and polled; a new pair is swapped in with `setSecureContext`, for new
 * connections. A pair that does not load (often a moment between writing the certificate
 * and the key, or a key that does not match) keeps the one in use, and is reported once.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ImgverifyError } from '../index';
import { MAX_PEM_FILE_BYTES, readBoundedFile } from '../util/bounded-file';
import type { Logger } from './log';
import type { WebhookMetrics } from './metrics';
import { watchFolders } from './watch';
import { errorMessage } from '../util/describe';

const MIN_TLS_VERSION = 'TLSv1.2';
/** Events come in bursts (certificate, key, symlink swap): one reload after the last. */
const TLS_DEBOUNCE_MS = 100;

export interface TlsServerOptions {
  /** PEM certificate chain and private key files. */
  readonly certFile: string;
  readonly keyFile: string;
  /** The files are re-read this often besides file events; 0: events only. */
  readonly pollIntervalMs: number;
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
}

export interface TlsServer {
  /** Not listening yet. */
  readonly server: Server;
  /** Re-reads the certificate files now; true when a new certificate is in use. */
  readonly reload: () => Promise<boolean>;
  /** Stops watching the files. */
  readonly stopWatching: () => void;
}

interface Pair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function versionOf(pair: Pair): string {
  const hash = createHash('sha256');
  for (const part of [pair.cert, pair.key]) hash.update(part).update('\0');
  return hash.digest('hex');
}

/**
 * Creates the HTTPS server with the certificate the files hold now, and starts following
 * them. Throws INVALID_OPTIONS when the files cannot be read or do not make a pair.
 */
export async function createTlsServer(options: TlsServerOptions): Promise<TlsServer> {
  const { certFile, keyFile, metrics, log } = options;
  const readPair = async (): Promise<Pair> => {
    const [cert, key] = await Promise.all([readBoundedFile(certFile, MAX_PEM_FILE_BYTES), readBoundedFile(keyFile, MAX_PEM_FILE_BYTES)]);
    return { cert, key };
  };

  let server: Server;
  let inUse: string;
  try {
    const pair = await readPair();
    createSecureContext(pair); // a clear error for a bad pair, before listening
    inUse = versionOf(pair);
    server = createServer({ ...pair, minVersion: MIN_TLS_VERSION });
  } catch (err) {
    throw new ImgverifyError('INVALID_OPTIONS', `cannot load the TLS certificate ${certFile} and key ${keyFile}: ${errorMessage(err)}`, { cause: err });
  }

  let rejected: string | undefined;
  const reject = (key: string, message: string, error: string): void => {
    if (rejected === key) return;
    rejected = key;
    metrics.tlsReloads.inc({ result: 'rejected' });
    log('error', message, { error });
  };
  const reload = async (): Promise<boolean> => {
    let pair: Pair;
    try {
      pair = await readPair();
    } catch (err) {
      const why = errorMessage(err);
      reject(why, 'cannot read the TLS certificate files; keeping the certificate in use', why);
      return false;
    }
    const version = versionOf(pair);
    if (version === inUse) return false;
    try {
      createSecureContext(pair);
      server.setSecureContext({ ...pair, minVersion: MIN_TLS_VERSION });
    } catch (err) {
      // The next event or poll tries again.
      reject(version, 'new TLS certificate or key does not load; keeping the certificate in use', errorMessage(err));
      return false;
    }
    inUse = version;
    rejected = undefined;
    metrics.tlsReloads.inc({ result: 'loaded' });
    log('info', 'TLS certificate reloaded', { certificate: certFile });
    return true;
  };

  const stopWatching = watchFolders(
    [dirname(certFile), dirname(keyFile)],
    async () => {
      await reload();
    },
    {
      debounceMs: TLS_DEBOUNCE_MS,
      pollIntervalMs: options.pollIntervalMs,
      onWatchError: (dir, err) => log('warn', 'cannot watch the TLS certificate folder; relying on polling', { dir, error: err.message }),
    },
  );
  return { server, reload, stopWatching };
}
