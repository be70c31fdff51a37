/** FaultInjectingStorage: makes chosen calls of another Storage fail, deterministically. */
import { ConnectorError, type ErrorCode } from '../errors/connector-error.ts';
import type {
  ByteRange,
  LeftoverRemoval,
  PutData,
  ResourceInfo,
  ResourceKind,
  Storage,
  StorageMode,
} from '../storage/storage.ts';
import { seededRandom } from './seeded-random.ts';
import type { StorageOperation } from './storage-operation.ts';

/**
 * What happens to a call a rule picks.
 * - `error`: the call fails with a ConnectorError of `code` (default `transient`). With
 *   `when: 'before'` (default) the inner storage is not called; with `'after'` it is, and its
 *   result is dropped (a put that succeeded but whose answer was lost). For `list`,
 *   `afterItems` yields that many items first, then fails; `when: 'after'` without `afterItems`
 *   yields the whole listing, then fails.
 * - `truncate` (get only): returns the inner bytes minus a seeded number of trailing bytes (at
 *   least one; an empty result stays empty).
 * - `corrupt` (get only): returns the inner bytes with one seeded byte flipped.
 */
export type Fault =
  | {
      readonly type: 'error';
      readonly code?: ErrorCode;
      readonly when?: 'before' | 'after';
      readonly afterItems?: number;
    }
  | { readonly type: 'truncate' }
  | { readonly type: 'corrupt' };

/**
 * Which calls fail and how. Every rule counts the calls it matches; the first rule (in order) that
 * fires for a call decides its fault.
 */
export interface FaultRule {
  /** The operation this rule watches, or `*` for all. */
  readonly op: StorageOperation | '*';
  /** Only calls addressing this kind (put, get, list, delete). */
  readonly kind?: ResourceKind;
  /** Fire on these matching calls, counted from 1 over the calls this rule matches. */
  readonly nth?: readonly number[];
  /** Fire on each matching call with this probability, drawn from the seeded generator. */
  readonly probability?: number;
  /** Fire at most this many times. Default: no limit. */
  readonly limit?: number;
  readonly fault: Fault;
}

/** Options of FaultInjectingStorage. */
export interface FaultInjectionOptions {
  readonly rules: readonly FaultRule[];
  /** Seed of the generator behind `probability`, truncation lengths and flipped bytes. Default 1. */
  readonly seed?: number;
}

/** A fault that was injected, as kept in `FaultInjectingStorage.injected`. */
export interface InjectedFault {
  readonly op: StorageOperation;
  readonly target: string;
  /** Index of the rule that fired. */
  readonly rule: number;
  readonly fault: Fault['type'];
}

interface RuleState {
  readonly rule: FaultRule;
  seen: number;
  fired: number;
}

/**
 * A Storage for tests that forwards to `inner` and injects faults chosen by `rules`: the Nth
 * matching call, or a seeded fraction of them, per operation and kind. Given the same seed and the
 * same sequence of calls, the same calls fail in the same way. Every injected fault is appended
 * to `injected`; `calls` counts the calls per operation.
 */
export class FaultInjectingStorage implements Storage {
  readonly #inner: Storage;
  readonly #rules: RuleState[];
  readonly #random: () => number;
  /** Every fault injected so far, in order. */
  readonly injected: InjectedFault[] = [];
  /** Calls seen per operation (faulty or not). */
  readonly calls: Record<StorageOperation, number> = {
    create: 0,
    open: 0,
    put: 0,
    get: 0,
    list: 0,
    delete: 0,
    removeLeftovers: 0,
    replaceConfig: 0,
  };
  /** Present when `inner` has it; faults apply to it as to any operation. */
  readonly removeLeftovers?: (olderThanMs: number) => Promise<LeftoverRemoval>;
  /** Present when `inner` has it; faults apply to it as to any operation. */
  readonly replaceConfig?: (config: Uint8Array) => Promise<void>;

  constructor(inner: Storage, options: FaultInjectionOptions) {
    for (const [i, rule] of options.rules.entries()) {
      if (rule.fault.type !== 'error' && rule.op !== 'get') {
        throw new Error(`fault rule ${i}: '${rule.fault.type}' applies to get only, not to '${rule.op}'`);
      }
      if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1)) {
        throw new Error(`fault rule ${i}: probability must be within [0, 1]`);
      }
    }
    this.#inner = inner;
    this.#rules = options.rules.map((rule) => ({ rule, seen: 0, fired: 0 }));
    this.#random = seededRandom(options.seed ?? 1);
    const removeLeftovers = inner.removeLeftovers?.bind(inner);
    if (removeLeftovers !== undefined) {
      this.removeLeftovers = (olderThanMs) =>
        this.#call('removeLeftovers', undefined, 'leftovers', () => removeLeftovers(olderThanMs));
    }
    const replaceConfig = inner.replaceConfig?.bind(inner);
    if (replaceConfig !== undefined) {
      this.replaceConfig = (config) =>
        this.#call('replaceConfig', undefined, 'config', () => replaceConfig(config));
    }
  }

  get location(): string {
    return this.#inner.location;
  }

  get mode(): StorageMode {
    return this.#inner.mode;
  }

  create(config: Uint8Array): Promise<void> {
    return this.#call('create', undefined, 'config', () => this.#inner.create(config));
  }

  open(): Promise<Uint8Array> {
    return this.#call('open', undefined, 'config', () => this.#inner.open());
  }

  put(kind: ResourceKind, id: string, data: PutData): Promise<void> {
    return this.#call('put', kind, `${kind}/${id}`, () => this.#inner.put(kind, id, data));
  }

  async get(kind: ResourceKind, id: string, range?: ByteRange): Promise<Uint8Array> {
    const fault = this.#pick('get', kind, `${kind}/${id}`);
    if (fault?.type === 'error')
      return this.#fail(fault, 'get', `${kind}/${id}`, () => this.#inner.get(kind, id, range));
    const bytes = await this.#inner.get(kind, id, range);
    if (fault?.type === 'truncate')
      return bytes.slice(0, bytes.length - 1 - Math.floor(this.#random() * bytes.length));
    if (fault?.type === 'corrupt' && bytes.length > 0) {
      const out = bytes.slice();
      const at = Math.floor(this.#random() * out.length);
      out[at] = (out[at] ?? 0) ^ (1 + Math.floor(this.#random() * 255));
      return out;
    }
    return bytes;
  }

  async *list(kind: ResourceKind): AsyncIterable<ResourceInfo> {
    const fault = this.#pick('list', kind, kind);
    if (fault?.type !== 'error') {
      yield* this.#inner.list(kind);
      return;
    }
    const error = () => faultError(fault, 'list', kind);
    if ((fault.afterItems ?? 0) === 0 && fault.when !== 'after') throw error();
    let yielded = 0;
    for await (const item of this.#inner.list(kind)) {
      if (fault.afterItems !== undefined && yielded >= fault.afterItems) throw error();
      yield item;
      yielded++;
    }
    throw error();
  }

  delete(kind: ResourceKind, id: string): Promise<void> {
    return this.#call('delete', kind, `${kind}/${id}`, () => this.#inner.delete(kind, id));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #call<T>(
    op: StorageOperation,
    kind: ResourceKind | undefined,
    target: string,
    call: () => Promise<T>,
  ): Promise<T> {
    const fault = this.#pick(op, kind, target);
    if (fault?.type === 'error') return this.#fail(fault, op, target, call);
    return call();
  }

  async #fail(
    fault: Fault & { type: 'error' },
    op: StorageOperation,
    target: string,
    call: () => Promise<unknown>,
  ): Promise<never> {
    if (fault.when === 'after') await call();
    throw faultError(fault, op, target);
  }

  #pick(op: StorageOperation, kind: ResourceKind | undefined, target: string): Fault | undefined {
    this.calls[op]++;
    let chosen: Fault | undefined;
    for (const [index, state] of this.#rules.entries()) {
      const { rule } = state;
      if ((rule.op !== '*' && rule.op !== op) || (rule.kind !== undefined && rule.kind !== kind)) continue;
      // Every matching rule counts the call, even when an earlier rule already fired.
      state.seen++;
      if (chosen || (rule.limit !== undefined && state.fired >= rule.limit)) continue;
      if (rule.nth !== undefined && !rule.nth.includes(state.seen)) continue;
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      state.fired++;
      this.injected.push({ op, target, rule: index, fault: rule.fault.type });
      chosen = rule.fault;
    }
    return chosen;
  }
}

function faultError(fault: Fault & { type: 'error' }, op: StorageOperation, target: string): ConnectorError {
  const code = fault.code ?? 'transient';
  return new ConnectorError(code, `injected ${code} fault: ${op} ${target}`, { op, key: target });
}
