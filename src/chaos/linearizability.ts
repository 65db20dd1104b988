/**
 * A generic linearizability checker: the Wing & Gong search with Lowe's memoization (the algorithm
 * behind Porcupine and Knossos' "linear" checker), for a deterministic sequential model.
 *
 * Call and return events are kept in one time-ordered doubly linked list. The search repeatedly
 * picks, among the operations invoked before the earliest pending return, one whose effect the model
 * accepts in the current state, "lifts" it out of the list and continues; when it reaches a return
 * whose operation has not been placed, that branch is dead and it backtracks. Configurations
 * (set of placed operations, model state) already explored are never explored again, which is what
 * keeps the search polynomial on realistic histories.
 *
 * Indeterminate operations are what makes such searches blow up: each one stays a candidate forever,
 * so every subset of them is a new configuration. Three prunings, each preserving the verdict, keep
 * that in check (see the comments where they apply): indeterminate operations are never placed where
 * they change nothing; read-only operations are placed greedily; and a configuration in which some
 * pending operation can never take effect again is abandoned at once (needs `neverApplies`).
 */

export interface Model<S, V> {
  init(): S;
  /** The state after `value` takes effect in `state`, or undefined if its recorded outcome is impossible there. */
  step(state: S, value: V): S | undefined;
  /** Equal keys must mean equivalent states: it is the memoization key. */
  stateKey(state: S): string;
  /**
   * True if `value`, wherever the model accepts it, leaves the state unchanged (a read, a refusal).
   * Lets the search place such operations greedily; leave undefined if unsure.
   */
  readOnly?(value: V): boolean;
  /**
   * True if no state reachable from `state` accepts `value` (e.g. a read of version 2 once version 3
   * is written). Must never claim this wrongly; returning false is always safe, only slower.
   */
  neverApplies?(state: S, value: V): boolean;
  /** Why `value` cannot take effect in `state`; only called to build reports. */
  explain?(state: S, value: V): string;
}

export interface TimedOp<V> {
  readonly call: number;
  /**
   * Infinity marks an indeterminate operation: it may take effect at any point after `call`, or never,
   * so the search may also finish without placing it.
   */
  readonly ret: number;
  readonly value: V;
}

export interface SearchOptions {
  /** Upper bound on configurations explored before answering "unknown". */
  maxStates?: number;
}

export const DEFAULT_MAX_STATES = 500_000;

export interface PlacedOp<S> {
  /** Index into the checked operations. */
  readonly index: number;
  readonly stateAfter: S;
}

/**
 * The furthest point the search reached: a linearizable prefix after which `blocking` cannot take
 * effect: its return was reached unplaced, or the state has moved past anything it accepts.
 */
export interface DeadEnd<S> {
  readonly prefix: readonly PlacedOp<S>[];
  readonly state: S;
  /** The operation that cannot be placed. */
  readonly blocking: number;
  /** Operations invoked before `blocking` returned that the model refuses in `state`, with its reasons. */
  readonly rejected: readonly { readonly index: number; readonly reason: string }[];
}

export type SearchResult<S> =
  | { readonly outcome: "ok"; readonly order: readonly number[]; readonly explored: number }
  | { readonly outcome: "illegal"; readonly deadEnd: DeadEnd<S>; readonly explored: number }
  | { readonly outcome: "unknown"; readonly deadEnd: DeadEnd<S> | undefined; readonly explored: number };

const NIL = -1;

export function checkLinearizable<S, V>(
  model: Model<S, V>,
  ops: readonly TimedOp<V>[],
  options: SearchOptions = {},
): SearchResult<S> {
  const maxStates = options.maxStates ?? DEFAULT_MAX_STATES;
  const n = ops.length;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    if (!Number.isFinite(op.call)) throw new RangeError(`operation ${i}: call time ${op.call} is not finite`);
    if (!(op.ret >= op.call))
      throw new RangeError(`operation ${i}: returns at ${op.ret}, before its call at ${op.call}`);
  }

  // Entry 2i is operation i's call, 2i+1 its return; HEAD is a sentinel before the first entry.
  const HEAD = 2 * n;
  const order = Array.from({ length: 2 * n }, (_, e) => e);
  const timeOf = (e: number): number => (e & 1 ? ops[e >> 1]!.ret : ops[e >> 1]!.call);
  // Calls sort before returns at the same instant: touching operations count as concurrent, so the
  // checker never rejects a history because of clock granularity.
  order.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b);
  const position = new Int32Array(2 * n);
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  let last = HEAD;
  prev[HEAD] = NIL;
  for (let k = 0; k < order.length; k++) {
    const e = order[k]!;
    position[e] = k;
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = NIL;

  // Unlinking the call then its return, and relinking in reverse order, restores the list exactly
  // (the dancing-links trick), so backtracking needs no copies.
  const unlink = (e: number): void => {
    next[prev[e]!] = next[e]!;
    if (next[e] !== NIL) prev[next[e]!] = prev[e]!;
  };
  const relink = (e: number): void => {
    next[prev[e]!] = e;
    if (next[e] !== NIL) prev[next[e]!] = e;
  };
  const lift = (call: number): void => {
    unlink(call);
    unlink(call + 1);
  };
  const unlift = (call: number): void => {
    relink(call + 1);
    relink(call);
  };

  const words = new Uint32Array(Math.ceil(n / 32));
  const toggle = (i: number): void => {
    words[i >>> 5]! ^= 1 << (i & 31);
  };
  // Fixed width (two UTF-16 units per word) so that appending the state key stays unambiguous.
  const bitsKey = (): string => {
    let s = "";
    for (let w = 0; w < words.length; w++) s += String.fromCharCode(words[w]! & 0xffff, words[w]! >>> 16);
    return s;
  };

  let required = 0;
  for (const op of ops) if (op.ret !== Number.POSITIVE_INFINITY) required++;
  const totalRequired = required;

  const cache = new Set<string>();
  const stackCall: number[] = [];
  const stackState: S[] = [];
  const stackKey: string[] = [];
  // A forced frame is never resumed to try alternatives: see the read-only pruning below.
  const stackForced: boolean[] = [];
  let state = model.init();
  let stateKey = model.stateKey(state);
  let explored = 0;
  // The most informative dead end is the one that explains the most acknowledged operations; placed
  // indeterminate operations are only a means to that, so fewer of them is better on a tie.
  let best: { prefix: number[]; blocking: number; placedRequired: number } | undefined;
  const noteDeadEnd = (blocking: number): void => {
    const placedRequired = totalRequired - required;
    if (
      !best ||
      placedRequired > best.placedRequired ||
      (placedRequired === best.placedRequired && stackCall.length < best.prefix.length)
    ) {
      best = { prefix: stackCall.map((e) => e >> 1), blocking, placedRequired };
    }
  };

  const deadEnd = (): DeadEnd<S> | undefined => {
    if (!best) return undefined;
    const prefix: PlacedOp<S>[] = [];
    let s = model.init();
    for (const index of best.prefix) {
      const after = model.step(s, ops[index]!.value);
      if (after === undefined)
        throw new Error("model is not deterministic: a placed operation no longer applies");
      s = after;
      prefix.push({ index, stateAfter: s });
    }
    const placed = new Set(best.prefix);
    const limit = position[2 * best.blocking + 1]!;
    const rejected: { index: number; reason: string }[] = [];
    for (let i = 0; i < n; i++) {
      if (placed.has(i) || position[2 * i]! > limit) continue;
      const value = ops[i]!.value;
      if (model.step(s, value) !== undefined) continue;
      rejected.push({ index: i, reason: model.explain?.(s, value) ?? "inconsistent with the model state" });
    }
    return { prefix, state: s, blocking: best.blocking, rejected };
  };

  /** Undoes placements until one leaves alternatives to try: the entry to resume from, or NIL. */
  const backtrack = (): number => {
    for (;;) {
      const call = stackCall.pop();
      if (call === undefined) return NIL;
      state = stackState.pop()!;
      stateKey = stackKey.pop()!;
      const forced = stackForced.pop()!;
      const i = call >> 1;
      toggle(i);
      if (ops[i]!.ret !== Number.POSITIVE_INFINITY) required++;
      unlift(call);
      if (!forced) return next[call]!;
    }
  };

  const { readOnly, neverApplies } = model;
  /**
   * Looks at the candidates of a configuration just reached (the calls before the first pending
   * return). Returns -2 if one of them can never take effect any more, otherwise the entry of a
   * read-only candidate the model accepts (or NIL).
   */
  const survey = (): number => {
    let forced = NIL;
    for (let e = next[HEAD]!; e !== NIL && (e & 1) === 0; e = next[e]!) {
      const op = ops[e >> 1]!;
      if (op.ret === Number.POSITIVE_INFINITY) continue;
      if (neverApplies?.(state, op.value)) {
        noteDeadEnd(e >> 1);
        return -2;
      }
      if (forced === NIL && readOnly?.(op.value) && model.step(state, op.value) !== undefined) forced = e;
    }
    return forced;
  };

  let entry = next[HEAD]!;
  let fresh = true;
  for (;;) {
    if (required === 0) return { outcome: "ok", order: stackCall.map((e) => e >> 1), explored };
    if (fresh) {
      fresh = false;
      const found = survey();
      if (found === -2) {
        entry = backtrack();
        if (entry === NIL) return { outcome: "illegal", deadEnd: deadEnd()!, explored };
        continue;
      }
      if (found !== NIL) entry = found;
    }
    if (entry === NIL) throw new Error("linearizability search ran off the event list");
    if ((entry & 1) === 1) {
      // The first return in the list belongs to an unplaced operation: nothing left can be placed here.
      noteDeadEnd(entry >> 1);
      entry = backtrack();
      if (entry === NIL) return { outcome: "illegal", deadEnd: deadEnd()!, explored };
      continue;
    }
    const i = entry >> 1;
    const op = ops[i]!;
    const after = model.step(state, op.value);
    if (after === undefined) {
      entry = next[entry]!;
      continue;
    }
    const afterKey = model.stateKey(after);
    const optional = op.ret === Number.POSITIVE_INFINITY;
    // An indeterminate operation that changes nothing here gains nothing from being placed here:
    // "never" leaves every continuation open.
    if (optional && afterKey === stateKey) {
      entry = next[entry]!;
      continue;
    }
    // A required read-only operation the model accepts (survey picks it first) is placed and never
    // reconsidered at this point: any linearization from here can be rearranged to start with it (it
    // is already invoked, and placing it earlier only relaxes real-time order), so if that fails,
    // every alternative here fails too.
    const forced = !optional && readOnly?.(op.value) === true;
    toggle(i);
    const key = bitsKey() + afterKey;
    if (cache.has(key)) {
      // Configurations in the cache and not on the stack are known to fail.
      toggle(i);
      if (forced) {
        entry = backtrack();
        if (entry === NIL) return { outcome: "illegal", deadEnd: deadEnd()!, explored };
      } else entry = next[entry]!;
      continue;
    }
    if (explored >= maxStates) return { outcome: "unknown", deadEnd: deadEnd(), explored };
    explored++;
    cache.add(key);
    stackCall.push(entry);
    stackState.push(state);
    stackKey.push(stateKey);
    stackForced.push(forced);
    state = after;
    stateKey = afterKey;
    if (!optional) required--;
    lift(entry);
    entry = next[HEAD]!;
    fresh = true;
  }
}
