import { useEffect, useRef, useState } from "preact/hooks";

/** A small observable state container: the app's shared data lives in a few of these. */
export interface Store<S> {
  get(): S;
  set(patch: Partial<S> | ((state: S) => Partial<S>)): void;
  subscribe(listener: () => void): () => void;
}

export function createStore<S extends object>(initial: S): Store<S> {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    set(patch) {
      const next = typeof patch === "function" ? patch(state) : patch;
      state = { ...state, ...next };
      for (const l of [...listeners]) l();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The part of a store a component reads; it re-renders only when that part changes. */
export function useStore<S, T>(store: Store<S>, select: (state: S) => T): T {
  const value = select(store.get());
  const rendered = useRef(value);
  rendered.current = value;
  const [, setTick] = useState(0);
  useEffect(() => {
    // Compare with what was rendered, not with the store now: a change that landed between the
    // render and this subscription (effects run after paint) must still re-render.
    let last = rendered.current;
    const check = () => {
      const next = select(store.get());
      if (!Object.is(next, last)) {
        last = next;
        setTick((n) => n + 1);
      }
    };
    check();
    return store.subscribe(check);
  }, [store, select]);
  return value;
}
