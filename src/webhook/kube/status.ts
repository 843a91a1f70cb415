/**
 * The status the webhook writes on the objects it loads, in the shape policy-controller writes
 * it (knative's duck-typed `Status`, pkg/apis/duck/v1): `status.observedGeneration` and
 * `status.conditions` with a `Ready` condition — `status` "True", or "False" with a `reason`
 * and a `message` naming every load error with its field path; `lastTransitionTime` changes
 * only when `status` does. `kubectl wait --for=condition=Ready clusterimagepolicy/NAME` works.
 *
 * Written through the status subresource, only when it differs from what the object has (so
 * several replicas computing the same status write it once between them), conditional on the
 * object's resourceVersion: on 409 Conflict the object is read again and written only if it
 * still differs and its generation is the one the status is about. A failed write is retried
 * with a backoff; the latest wanted status per object wins.
 */
import { errorMessage } from '../../util/describe';
import { isRecord } from '../../util/shape';
import type { Logger } from '../log';
import { KubeApiError, type KubeApi } from './api';

/** What the writer needs of the API: a conditional status update, and a read after a conflict. */
export type StatusApi = Pick<KubeApi, 'replaceStatus' | 'get'>;
import { describeObject, type KubeObject, type KubeResource } from './resources';

/** policy-controller's reason when a Secret (or KMS) key cannot be read (clusterimagepolicy_lifecycle.go). */
export const REASON_KEYS = 'InliningKeysFailed';
/** The object's spec does not load (validation errors). */
export const REASON_INVALID = 'InvalidSpec';
/** A TrustRoot the object names does not load. */
export const REASON_TRUST_ROOT = 'TrustRootNotReady';

/** Longest `message` written (the API server takes more; a wall of errors helps nobody). */
export const MAX_MESSAGE_LENGTH = 4096;

export interface Readiness {
  readonly ready: boolean;
  /** When not ready: a CamelCase reason (REASON_*) and the errors. */
  readonly reason?: string;
  readonly message?: string;
}

interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime: string;
}

export interface ObjectStatus {
  readonly observedGeneration?: number;
  readonly conditions: readonly Condition[];
}

/** RFC 3339 with seconds, as Kubernetes writes times. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

function boundMessage(message: string): string {
  return message.length <= MAX_MESSAGE_LENGTH ? message : `${message.slice(0, MAX_MESSAGE_LENGTH - 20)}… (${message.length} characters)`;
}

/** The object's current Ready condition, if it has a well-formed one. */
function currentReady(object: KubeObject): { status?: unknown; lastTransitionTime?: unknown } | undefined {
  const status = object['status'];
  const conditions = isRecord(status) && Array.isArray(status['conditions']) ? (status['conditions'] as unknown[]) : [];
  return conditions.find((c): c is Record<string, unknown> => isRecord(c) && c['type'] === 'Ready');
}

/** The status `object` should have for `readiness` (keeping the transition time when `status` is unchanged). */
export function desiredStatus(object: KubeObject, readiness: Readiness, now: Date = new Date()): ObjectStatus {
  const value = readiness.ready ? 'True' : 'False';
  const previous = currentReady(object);
  const since = previous?.status === value && typeof previous.lastTransitionTime === 'string' ? previous.lastTransitionTime : kubeTime(now);
  const condition: Condition = {
    type: 'Ready',
    status: value,
    ...(!readiness.ready && readiness.reason ? { reason: readiness.reason } : {}),
    ...(!readiness.ready && readiness.message ? { message: boundMessage(readiness.message) } : {}),
    lastTransitionTime: since,
  };
  const generation = object.metadata.generation;
  return { ...(typeof generation === 'number' ? { observedGeneration: generation } : {}), conditions: [condition] };
}

/** Whether the object's status already says `desired` (times aside). */
export function hasStatus(object: KubeObject, desired: ObjectStatus): boolean {
  const status = object['status'];
  if (!isRecord(status)) return false;
  const strip = (s: unknown): string => {
    const r = isRecord(s) ? s : {};
    const conditions = Array.isArray(r['conditions'])
      ? (r['conditions'] as unknown[]).map((c) => (isRecord(c) ? { ...c, lastTransitionTime: undefined } : c))
      : r['conditions'];
    return JSON.stringify({
      observedGeneration: r['observedGeneration'],
      conditions,
      extra: Object.keys(r).filter((k) => k !== 'observedGeneration' && k !== 'conditions'),
    });
  };
  return strip(status) === strip(desired);
}

interface Pending {
  readonly key: string;
  /** Which update() call this is, per key: a retry of an older one never overtakes a newer one. */
  readonly serial: number;
  readonly resource: KubeResource;
  object: KubeObject;
  readiness: Readiness;
  attempts: number;
}

export interface StatusWriterOptions {
  readonly log: Logger;
  /** Counts writes by result (written, unchanged, conflict, gone, failed). */
  readonly count?: (result: string) => void;
  readonly now?: () => Date;
  /** First retry after a failed write, ms (default 1000, doubling to 60 000). */
  readonly retryMs?: number;
}

export class StatusWriter {
  private readonly pending = new Map<string, Pending>();
  private readonly serials = new Map<string, number>();
  private running: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly api: StatusApi,
    private readonly options: StatusWriterOptions,
  ) {}

  /** Makes `object`'s status say `readiness`, soon (the latest call per object wins). */
  update(resource: KubeResource, object: KubeObject, readiness: Readiness): void {
    if (this.stopped) return;
    const key = `${resource.group}/${resource.plural}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const serial = (this.serials.get(key) ?? 0) + 1;
    this.serials.set(key, serial);
    this.pending.set(key, { key, serial, resource, object, readiness, attempts: 0 });
    this.kick();
  }

  /** Resolves once nothing is queued or being written (retries waiting on their timer aside). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private kick(): void {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      if (this.pending.size > 0 && !this.stopped) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.stopped) {
      const entry = this.pending.values().next().value as Pending;
      const key = entry.key;
      this.pending.delete(key);
      const result = await this.write(entry);
      this.options.count?.(result);
      if (result === 'failed' && !this.stopped) {
        const delay = Math.min((this.options.retryMs ?? 1000) * 2 ** Math.min(entry.attempts, 6), 60_000);
        entry.attempts += 1;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (this.serials.get(key) !== entry.serial || this.pending.has(key)) return;
          this.pending.set(key, entry);
          this.kick();
        }, delay);
        timer.unref();
        this.timers.add(timer);
      }
    }
  }

  private async write(entry: Pending): Promise<'written' | 'unchanged' | 'conflict' | 'gone' | 'failed'> {
    const { resource, readiness } = entry;
    const now = this.options.now ?? ((): Date => new Date());
    let object = entry.object;
    for (let attempt = 0; attempt < 3; attempt++) {
      const desired = desiredStatus(object, readiness, now());
      if (hasStatus(object, desired)) return attempt === 0 ? 'unchanged' : 'conflict';
      try {
        await this.api.replaceStatus(resource, object, desired);
        this.options.log('debug', 'status written', { object: describeObject(resource, object), ready: readiness.ready });
        return 'written';
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return 'gone';
        if (!(err instanceof KubeApiError && err.status === 409)) {
          this.options.log('warn', 'cannot write the status; will retry', { object: describeObject(resource, object), error: errorMessage(err) });
          return 'failed';
        }
        // Changed since we read it: another replica's status, or a new generation.
        let latest: KubeObject | undefined;
        try {
          latest = await this.api.get(resource, object.metadata.name, object.metadata.namespace);
        } catch (e) {
          this.options.log('warn', 'cannot read the object again after a conflict; will retry', {
            object: describeObject(resource, object),
            error: errorMessage(e),
          });
          return 'failed';
        }
        if (!latest) return 'gone';
        // A new generation: the informer brings it, and its own status is computed then.
        if (latest.metadata.generation !== object.metadata.generation) return 'conflict';
        object = latest;
      }
    }
    return 'conflict';
  }
}
