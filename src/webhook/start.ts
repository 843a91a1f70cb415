/**
 * The webhook's public start: one process (./server.ts), or with `workers` above 1 a primary
 * and its worker processes (./workers.ts, loaded only then). Apart from ./server.ts so that the
 * workers' module, which builds on the server's parts, is not imported by it (no cycle).
 */
import { checkedStartOptions, isWebhookWorker, startWebhookServer as startOneProcess, type RunningWebhookServer, type WebhookServerOptions } from './server';

/**
 * Starts the webhook server; resolves once it listens and the first policy load is done. It
 * listens first: /healthz answers while the policies and their TrustRoots load (concurrently),
 * /readyz answers 503 until the first valid set is in force. With `workers` above 1 the process
 * becomes the primary of that many worker processes (docs/webhook.md, "Workers"); in a worker it
 * serves.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningWebhookServer> {
  const workers = checkedStartOptions(options);
  if (workers === 1) return startOneProcess(options);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- only with several workers
  const { startWebhookPrimary, startWebhookWorker } = require('./workers') as typeof import('./workers');
  return isWebhookWorker() ? startWebhookWorker(options) : startWebhookPrimary(options, workers);
}
