import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { SearchRequest, WithId } from '@medplum/core';
import { OperationOutcomeError, badRequest, deepClone, gone } from '@medplum/core';
import type { CreateResourceOptions, UpdateResourceOptions } from '@medplum/fhir-router';
import { MemoryRepository } from '@medplum/fhir-router';
import { SANDBOX_RESOURCE_TYPES } from './capability-statement';
import { RequiredCodes } from './required-codes';
import { assertValidResource, localReferences } from './resource-validator';
import { prepareSearchRequest } from './search-rules';
import { searchResources } from './memory-search';
import { activateSubscription, assertDeliverableSubscription } from './subscription-rules';

const SUPPORTED_TYPES: ReadonlySet<string> = new Set(SANDBOX_RESOURCE_TYPES);

type ResourceStore = Map<string, Map<string, Resource>>;
type HistoryStore = Map<string, Map<string, Resource[]>>;

/**
 * Told of each stored version once it is committed, synchronously: must be quick, and must copy (or
 * serialise) what it keeps, because the object goes back to the router afterwards.
 */
export type CommitListener = (resource: Resource) => void;

interface Snapshot {
  readonly resources: ResourceStore;
  readonly history: HistoryStore;
  readonly deleted: Set<string>;
}

/**
 * Medplum's MemoryRepository with the rules of a real EHR added: every stored version is validated against
 * the R4 StructureDefinitions and required code bindings, local references must point at existing
 * resources, a PUT to an unknown id is 404 (no update-as-create), a deleted resource is 410 Gone,
 * client-supplied ids and version metadata on create are ignored, version ids count up from "1",
 * transactions are all-or-nothing, and
 * search rejects unknown parameters and pages by default (see search-rules.ts, memory-search.ts).
 *
 * The FhirRouter's handlers (create, update, patch, conditional operations, batch entries) all go through
 * these methods, so enforcing the rules here covers every path into the store.
 */
export class SandboxRepository extends MemoryRepository {
  private readonly store: { readonly resources: ResourceStore; readonly history: HistoryStore };
  private readonly deleted = new Set<string>();
  private inTransaction = false;
  private readonly commitListeners: CommitListener[] = [];
  /** Versions written inside the open transaction: announced if it commits, forgotten if it rolls back. */
  private uncommitted: Resource[] = [];

  constructor(private readonly codes: RequiredCodes = new RequiredCodes()) {
    super();
    this.store = internalStoreOf(this);
  }

  /**
   * Stores seed data as given (ids and `meta` included). References are checked; structural validation is
   * skipped because it would double start-up time, and the seed tests validate every generated resource.
   */
  async seedResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    this.assertReferencesExist(resource);
    return super.createResource(resource);
  }

  override async createResource<T extends Resource>(
    resource: T,
    options?: CreateResourceOptions,
  ): Promise<WithId<T>> {
    // The router passes options only for a client create; then, as on a real server, the id is the
    // server's to assign. Without options this is the second half of an update.
    const toStore: T = { ...resource };
    if ((options !== undefined && options.assignedId !== true) || !toStore.id) {
      toStore.id = this.generateId();
    }
    // Sequential version ids ("1", "2", ...) as HAPI and many EHRs use: readable in logs and receipts,
    // and deterministic for the seed data. Client-supplied version metadata is never kept.
    const versions = this.store.history.get(toStore.resourceType)?.get(toStore.id)?.length ?? 0;
    toStore.meta = { ...resource.meta, versionId: String(versions + 1) };
    delete toStore.meta.lastUpdated;
    this.assertStorable(toStore);
    if (toStore.resourceType === 'Subscription') {
      assertDeliverableSubscription(toStore);
      activateSubscription(toStore);
    }
    const stored = await super.createResource(toStore);
    this.written(stored);
    return stored;
  }

  override async updateResource<T extends Resource>(
    resource: T,
    options?: UpdateResourceOptions,
  ): Promise<WithId<T>> {
    if (!resource.id) {
      throw new OperationOutcomeError(badRequest('Missing id'));
    }
    // Throws 404 / 410: updateCreate is false, as on most production EHRs.
    await this.readResource(resource.resourceType, resource.id);
    return super.updateResource(resource, options);
  }

  override async readResource<T extends Resource>(resourceType: string, id: string): Promise<T> {
    if (this.deleted.has(`${resourceType}/${id}`)) {
      throw new OperationOutcomeError(gone);
    }
    return super.readResource<T>(resourceType, id);
  }

  /** Newest first. (The base class reverses its stored history array in place, flipping it on every call.) */
  override async readHistory<T extends Resource>(resourceType: string, id: string): Promise<Bundle<T>> {
    await this.readResource(resourceType, id);
    const versions = [...(this.store.history.get(resourceType)?.get(id) ?? [])].reverse();
    const entry = versions.map((version) => ({ resource: deepClone(version) as T }));
    return { resourceType: 'Bundle', type: 'history', ...(entry.length > 0 ? { entry } : {}) };
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    await this.readResource(resourceType, id);
    await super.deleteResource(resourceType, id);
    this.deleted.add(`${resourceType}/${id}`);
  }

  override search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    // The work is synchronous; running it in a promise keeps errors arriving as rejections.
    return Promise.resolve().then(() => this.searchNow(searchRequest));
  }

  private searchNow<T extends Resource>(searchRequest: SearchRequest<T>): Bundle<WithId<T>> {
    const request = prepareSearchRequest(searchRequest);
    const stored = this.store.resources.get(request.resourceType)?.values() ?? [];
    const { total, page } = searchResources(stored, request);
    const entry = page.map((resource) => ({ resource: deepClone(resource) as WithId<T> }));
    return { resourceType: 'Bundle', type: 'searchset', total, ...(entry.length > 0 ? { entry } : {}) };
  }

  /**
   * The base class runs the callback with no isolation, so a failing transaction entry would leave the
   * earlier entries written. Snapshotting the store (shallow: stored versions are never mutated in place)
   * and restoring it on failure makes transactions and conditional writes atomic. Callers serialise
   * requests, so there is never more than one transaction open.
   */
  override async withTransaction<TResult>(
    callback: (client: undefined) => Promise<TResult>,
  ): Promise<TResult> {
    if (this.inTransaction) {
      return callback(undefined);
    }
    const snapshot = this.snapshot();
    this.inTransaction = true;
    try {
      const result = await callback(undefined);
      this.inTransaction = false;
      const committed = this.uncommitted;
      this.uncommitted = [];
      committed.forEach((resource) => {
        this.announce(resource);
      });
      return result;
    } catch (err) {
      this.uncommitted = [];
      this.restore(snapshot);
      throw err;
    } finally {
      this.inTransaction = false;
    }
  }

  /**
   * Calls `listener` with every version created or updated through the FHIR API once it is committed (at
   * once, or when the enclosing transaction commits; never for a rolled-back one). Seed data is not
   * announced. Subscription delivery hangs here, so it covers batches, transactions and conditional writes.
   */
  onCommit(listener: CommitListener): void {
    this.commitListeners.push(listener);
  }

  /** The current versions of one type, uncloned: callers must not change them. */
  storedResources(resourceType: string): Resource[] {
    return [...(this.store.resources.get(resourceType)?.values() ?? [])];
  }

  /** Current (not deleted) resources per type. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [resourceType, byId] of [...this.store.resources].sort(([a], [b]) => a.localeCompare(b))) {
      if (byId.size > 0) {
        counts[resourceType] = byId.size;
      }
    }
    return counts;
  }

  override clear(): void {
    super.clear();
    this.deleted.clear();
    this.uncommitted = [];
  }

  private written(resource: Resource): void {
    if (this.commitListeners.length === 0) {
      return;
    }
    if (this.inTransaction) {
      // A copy: the router still works with the object it got back until the transaction ends.
      this.uncommitted.push(deepClone(resource));
    } else {
      this.announce(resource);
    }
  }

  private announce(resource: Resource): void {
    for (const listener of this.commitListeners) {
      try {
        listener(resource);
      } catch {
        // A listener's failure is its own: the write has committed and stands.
      }
    }
  }

  private assertStorable(resource: Resource): void {
    if (!SUPPORTED_TYPES.has(resource.resourceType)) {
      // Checked here too, not only in the HTTP layer, because batch entries reach the store directly.
      throw new OperationOutcomeError(
        badRequest(`Resource type not supported by this server: ${resource.resourceType}`),
      );
    }
    assertValidResource(resource, this.codes);
    this.assertReferencesExist(resource);
  }

  private assertReferencesExist(resource: Resource): void {
    for (const ref of localReferences(resource)) {
      if (this.store.resources.get(ref.resourceType)?.has(ref.id) !== true) {
        throw new OperationOutcomeError(
          badRequest(`Invalid reference: ${ref.resourceType}/${ref.id} not found`, ref.expression),
        );
      }
    }
  }

  private snapshot(): Snapshot {
    const resources: ResourceStore = new Map();
    for (const [type, byId] of this.store.resources) {
      resources.set(type, new Map(byId));
    }
    const history: HistoryStore = new Map();
    for (const [type, byId] of this.store.history) {
      history.set(type, new Map([...byId].map(([id, versions]) => [id, [...versions]])));
    }
    return { resources, history, deleted: new Set(this.deleted) };
  }

  private restore(snapshot: Snapshot): void {
    replaceMap(this.store.resources, snapshot.resources);
    replaceMap(this.store.history, snapshot.history);
    this.deleted.clear();
    for (const key of snapshot.deleted) {
      this.deleted.add(key);
    }
  }
}

function replaceMap<K, V>(target: Map<K, V>, source: Map<K, V>): void {
  target.clear();
  for (const [key, value] of source) {
    target.set(key, value);
  }
}

/**
 * MemoryRepository keeps its data in two private maps (`resources`, `history`) and offers no way to count,
 * snapshot or restore them. This reads them once, at construction, and fails loudly if a Medplum upgrade
 * changed that layout, rather than silently losing atomic transactions.
 */
function internalStoreOf(repo: MemoryRepository): { resources: ResourceStore; history: HistoryStore } {
  const resources: unknown = Reflect.get(repo, 'resources');
  const history: unknown = Reflect.get(repo, 'history');
  if (!(resources instanceof Map) || !(history instanceof Map)) {
    throw new Error(
      'Unsupported @medplum/fhir-router: MemoryRepository no longer keeps `resources`/`history` maps; the sandbox EHR needs them for transactions and stats',
    );
  }
  return { resources: resources as ResourceStore, history: history as HistoryStore };
}
