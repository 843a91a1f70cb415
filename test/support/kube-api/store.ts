/**
 * The emulated API server's storage, with etcd's and the API machinery's rules: one
 * revision counter for every write (an object's `resourceVersion` is the revision that wrote
 * it, a list's is the revision it reflects), a history of changes that watches replay and
 * that compaction forgets (older reads then fail with 410 Expired), optimistic concurrency
 * (409 Conflict on a stale `resourceVersion`), the status subresource, `metadata.generation`
 * and pruning for custom resources, and no-op writes that change nothing (no new revision,
 * no event).
 */
import { randomUUID } from 'node:crypto';
import type { Json } from '../json';
import { clone, DocumentError, jsonPatch, mergePatch, prune } from './documents';
import { apiVersionOf, resourceName, type ResourceType } from './resources';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  readonly revision: number;
  readonly type: EventType;
  readonly resource: ResourceType;
  /** The object after the change (for DELETED, its last state at the deletion's revision). */
  readonly object: Json;
  /** The object before the change (absent for ADDED). */
  readonly previous?: Json;
}

/** An API error, answered as a `Status` object. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Json,
  ) {
    super(message);
  }

  status(): Json {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export type PatchType = 'merge' | 'json' | 'strategic';
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  /** `status` for the status subresource. */
  readonly subresource?: string;
  /** What to do with fields the schema does not declare (default Warn, as the API server). */
  readonly fieldValidation?: FieldValidation;
  /** Collects `Warning` header texts. */
  readonly warnings?: string[];
}

export interface ListOptions {
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: string;
  readonly limit?: number;
  readonly continue?: string;
  readonly filter?: (object: Json) => boolean;
}

export interface ListResult {
  readonly items: Json[];
  readonly resourceVersion: string;
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

const NAME = /^[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$/;

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function qualified(type: ResourceType): string {
  return type.group === '' ? type.resource : `${type.resource}.${type.group}`;
}

/** Everything but `metadata` and `status`: what `metadata.generation` counts changes of. */
function specPart(object: Json): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object as Record<string, unknown>;
  return JSON.stringify(rest);
}

/** A Secret's write-only `stringData` goes into `data` (base64), as the API server does. */
function secretData(type: ResourceType, object: Json): void {
  if (type.group !== '' || type.resource !== 'secrets' || object.stringData === undefined) return;
  object.data = { ...(object.data ?? {}) };
  for (const [k, v] of Object.entries(object.stringData as Record<string, string>)) object.data[k] = Buffer.from(v, 'utf8').toString('base64');
  delete object.stringData;
}

function sameContent(a: Json, b: Json): boolean {
  const strip = (o: Json): string => JSON.stringify({ ...o, apiVersion: undefined, metadata: { ...o.metadata, resourceVersion: undefined } });
  return strip(a) === strip(b);
}

export class Store {
  /** The last revision written. */
  revision = 1;
  /** Reads and watches from before this revision answer 410 Expired. */
  compactedAt = 0;
  private readonly objects = new Map<string, Map<string, Json>>();
  private history: StoredEvent[] = [];
  private readonly listeners = new Set<(event: StoredEvent) => void>();

  constructor(readonly types: readonly ResourceType[]) {
    for (const type of types) this.objects.set(resourceName(type), new Map());
  }

  /** A type by `resource` or `resource.group`. */
  type(name: string): ResourceType {
    const found = this.types.find((t) => resourceName(t) === name || t.resource === name);
    if (!found) throw new Error(`the emulated API server has no resource ${name}`);
    return found;
  }

  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets the history up to now: reads and watches from an older resourceVersion get 410. */
  compact(): void {
    this.compactedAt = this.revision;
    this.history = [];
  }

  /** The events of `type` after `revision` (410 when compaction has dropped some of them). */
  eventsSince(type: ResourceType, revision: number): StoredEvent[] {
    if (revision < this.compactedAt) throw this.expired(revision);
    return this.history.filter((e) => e.revision > revision && e.resource === type);
  }

  expired(revision: number): ApiError {
    return new ApiError(410, 'Expired', `too old resource version: ${revision} (${this.compactedAt})`);
  }

  private map(type: ResourceType): Map<string, Json> {
    return this.objects.get(resourceName(type))!;
  }

  private requireNamespace(type: ResourceType, namespace: string | undefined): void {
    if (!type.namespaced) return;
    if (namespace === undefined || namespace === '')
      throw new ApiError(400, 'BadRequest', 'the server could not find the requested resource: a namespace is required');
    if (!this.map(this.type('namespaces')).has(key(undefined, namespace)))
      throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
  }

  private notFound(type: ResourceType, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualified(type)} "${name}" not found`, { name, group: type.group, kind: type.resource });
  }

  /** A stored object as read through `version` (only `apiVersion` differs between versions). */
  view(type: ResourceType, object: Json, version = type.versions[0]!): Json {
    return { ...clone(object), apiVersion: apiVersionOf(type, version), kind: type.kind };
  }

  get(type: ResourceType, namespace: string | undefined, name: string): Json {
    const found = this.map(type).get(key(type.namespaced ? namespace : undefined, name));
    if (!found) throw this.notFound(type, name);
    return clone(found);
  }

  /** The objects of `type` as they were at `revision` (undoing the later history). */
  private stateAt(type: ResourceType, revision: number): Map<string, Json> {
    if (revision < this.compactedAt) throw this.expired(revision);
    const state = new Map(this.map(type));
    for (const event of [...this.history].reverse()) {
      if (event.revision <= revision) break;
      if (event.resource !== type) continue;
      const k = key(event.object.metadata.namespace, event.object.metadata.name);
      if (event.type === 'ADDED') state.delete(k);
      else state.set(k, event.previous);
    }
    return state;
  }

  list(type: ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    let at = this.revision;
    let after: string | undefined;
    if (options.continue !== undefined && options.continue !== '') {
      if (options.resourceVersion !== undefined && options.resourceVersion !== '')
        throw new ApiError(400, 'BadRequest', 'specifying resource version is not allowed when using continue');
      let token: Json;
      try {
        token = JSON.parse(Buffer.from(options.continue, 'base64url').toString('utf8'));
      } catch {
        throw new ApiError(400, 'BadRequest', 'continue key is not valid');
      }
      at = Number(token.rv);
      after = String(token.start);
      if (at < this.compactedAt) {
        throw new ApiError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
    } else {
      const rv = options.resourceVersion;
      const match = options.resourceVersionMatch;
      if (match !== undefined && match !== '' && (rv === undefined || rv === ''))
        throw new ApiError(400, 'BadRequest', 'resourceVersionMatch is forbidden unless resourceVersion is provided');
      if (rv !== undefined && rv !== '' && rv !== '0') {
        const n = Number(rv);
        if (!/^\d+$/.test(rv)) throw new ApiError(400, 'BadRequest', `invalid resource version: ${rv}`);
        if (n > this.revision)
          throw new ApiError(504, 'Timeout', `Too large resource version: ${n}, current: ${this.revision}`, {
            causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
            retryAfterSeconds: 1,
          });
        if (match === 'Exact') at = n;
        else if (match !== undefined && match !== '' && match !== 'NotOlderThan')
          throw new ApiError(400, 'BadRequest', `unsupported resourceVersionMatch ${match}`);
      }
    }
    const state = at === this.revision ? this.map(type) : this.stateAt(type, at);
    const keys = [...state.keys()].sort();
    const items: Json[] = [];
    for (const k of keys) {
      if (after !== undefined && k <= after) continue;
      const object = state.get(k)!;
      if (type.namespaced && namespace !== undefined && object.metadata.namespace !== namespace) continue;
      if (options.filter && !options.filter(object)) continue;
      items.push(clone(object));
    }
    const limit = options.limit ?? 0;
    if (limit > 0 && items.length > limit) {
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      const token = Buffer.from(JSON.stringify({ rv: at, start: key(last.metadata.namespace, last.metadata.name) })).toString('base64url');
      return { items: page, resourceVersion: String(at), continue: token, remainingItemCount: items.length - limit };
    }
    return { items, resourceVersion: String(at) };
  }

  private commit(type: ResourceType, eventType: EventType, object: Json, previous?: Json): Json {
    const revision = ++this.revision;
    object.metadata.resourceVersion = String(revision);
    const k = key(object.metadata.namespace, object.metadata.name);
    if (eventType === 'DELETED') this.map(type).delete(k);
    else this.map(type).set(k, object);
    const event: StoredEvent = { revision, type: eventType, resource: type, object: clone(object), ...(previous ? { previous: clone(previous) } : {}) };
    this.history.push(event);
    for (const listener of [...this.listeners]) listener(event);
    return clone(object);
  }

  /** Prunes undeclared fields of a custom resource; Strict refuses them, Warn reports them. */
  private pruned(type: ResourceType, object: Json, version: string, options: WriteOptions): void {
    const schema = type.schemas?.[version];
    if (!schema) return;
    const dropped = prune(object, schema);
    if (dropped.length === 0) return;
    const mode = options.fieldValidation ?? 'Warn';
    if (mode === 'Strict') {
      throw new ApiError(
        400,
        'BadRequest',
        `${type.kind} in version "${version}" cannot be handled as a ${type.kind}: strict decoding error: ${dropped.map((p) => `unknown field "${p}"`).join(', ')}`,
      );
    }
    if (mode === 'Warn') options.warnings?.push(...dropped.map((p) => `unknown field "${p}"`));
  }

  private checkIdentity(type: ResourceType, object: Json, namespace: string | undefined): void {
    if (typeof object !== 'object' || object === null || Array.isArray(object))
      throw new ApiError(400, 'BadRequest', 'the body of the request is not an object');
    object.metadata ??= {};
    if (type.namespaced) {
      if (object.metadata.namespace !== undefined && object.metadata.namespace !== namespace) {
        throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = namespace;
    } else delete object.metadata.namespace;
  }

  create(type: ResourceType, namespace: string | undefined, body: Json, version = type.versions[0]!, options: WriteOptions = {}): Json {
    const object = clone(body);
    this.checkIdentity(type, object, namespace);
    this.requireNamespace(type, object.metadata.namespace);
    if (object.apiVersion !== undefined && object.apiVersion !== apiVersionOf(type, version)) {
      throw new ApiError(
        400,
        'BadRequest',
        `the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersionOf(type, version)})`,
      );
    }
    if (!object.metadata.name && object.metadata.generateName) object.metadata.name = `${object.metadata.generateName}${randomUUID().slice(0, 5)}`;
    const name = object.metadata.name;
    if (typeof name !== 'string' || name === '')
      throw new ApiError(422, 'Invalid', `${type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (!NAME.test(name) || name.length > 253)
      throw new ApiError(
        422,
        'Invalid',
        `${type.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      );
    if (this.map(type).has(key(object.metadata.namespace, name))) {
      throw new ApiError(409, 'AlreadyExists', `${qualified(type)} "${name}" already exists`, { name, group: type.group, kind: type.resource });
    }
    this.pruned(type, object, version, options);
    secretData(type, object);
    if (type.status) delete object.status;
    if (type.resource === 'namespaces') object.status = { phase: 'Active' };
    object.apiVersion = apiVersionOf(type, version);
    object.kind = type.kind;
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = timestamp();
    if (type.custom) object.metadata.generation = 1;
    delete object.metadata.deletionTimestamp;
    return this.commit(type, 'ADDED', object);
  }

  update(type: ResourceType, namespace: string | undefined, name: string, body: Json, version = type.versions[0]!, options: WriteOptions = {}): Json {
    const incoming = clone(body);
    this.checkIdentity(type, incoming, namespace);
    if (incoming.metadata.name !== undefined && incoming.metadata.name !== name) {
      throw new ApiError(400, 'BadRequest', `the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`);
    }
    const current = this.get(type, namespace, name);
    const expected = incoming.metadata.resourceVersion;
    if (expected === undefined || expected === '') {
      if (type.custom)
        throw new ApiError(422, 'Invalid', `${type.kind} "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`);
    } else if (expected !== current.metadata.resourceVersion) throw this.conflict(type, name);
    return this.write(type, current, incoming, version, options);
  }

  conflict(type: ResourceType, name: string): ApiError {
    return new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      {
        name,
        group: type.group,
        kind: type.resource,
      },
    );
  }

  /** Replaces `current` by `incoming` under the subresource rules; a write that changes nothing is not one. */
  private write(type: ResourceType, current: Json, incoming: Json, version: string, options: WriteOptions): Json {
    let next: Json;
    if (options.subresource === 'status') {
      if (!type.status) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${qualified(type)}/status)`);
      next = { ...current, status: incoming.status };
      if (next.status === undefined) delete next.status;
    } else if (options.subresource !== undefined) {
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${qualified(type)}/${options.subresource})`);
    } else {
      next = incoming;
      this.pruned(type, next, version, options);
      secretData(type, next);
      if (type.status) {
        if (current.status !== undefined) next.status = current.status;
        else delete next.status;
      }
      // The server owns these; a client's values are ignored.
      for (const field of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp']) {
        if (current.metadata[field] !== undefined) next.metadata[field] = current.metadata[field];
        else delete next.metadata[field];
      }
      next.metadata.namespace = current.metadata.namespace;
      next.metadata.name = current.metadata.name;
      if (type.custom && specPart(next) !== specPart(current)) next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    }
    next.apiVersion = current.apiVersion;
    next.kind = type.kind;
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (sameContent(next, current)) return current;
    return this.commit(type, 'MODIFIED', next, current);
  }

  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: Json,
    version = type.versions[0]!,
    options: WriteOptions = {},
  ): Json {
    const current = this.get(type, namespace, name);
    const viewed = this.view(type, current, version);
    let patched: Json;
    try {
      patched = patchType === 'json' ? jsonPatch(viewed, patch) : mergePatch(viewed, patch);
    } catch (err) {
      if (err instanceof DocumentError) throw new ApiError(422, 'Invalid', err.message);
      throw err;
    }
    if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) throw new ApiError(422, 'Invalid', 'the patched document is not an object');
    patched.metadata ??= {};
    // A resourceVersion in the patch is a precondition; without one the patch applies to the current object.
    const expected = patched.metadata.resourceVersion;
    if (expected !== undefined && expected !== current.metadata.resourceVersion) throw this.conflict(type, name);
    if (patched.metadata.name !== name) throw new ApiError(400, 'BadRequest', 'metadata.name cannot be changed by a patch');
    return this.write(type, current, patched, version, options);
  }

  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    preconditions: { readonly resourceVersion?: string; readonly uid?: string } = {},
  ): Json {
    const current = this.get(type, namespace, name);
    if (preconditions.uid !== undefined && preconditions.uid !== current.metadata.uid) {
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== current.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    // A namespace takes its objects with it.
    if (type.resource === 'namespaces' && type.group === '') {
      for (const t of this.types.filter((x) => x.namespaced)) {
        for (const object of [...this.map(t).values()].filter((o) => o.metadata.namespace === name)) this.delete(t, name, object.metadata.name);
      }
    }
    return this.commit(type, 'DELETED', clone(current), current);
  }
}
