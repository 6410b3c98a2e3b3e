// An object built on first use: every method call waits for `load` (once) and then calls
// the real method. Only for interfaces whose methods all return promises (MediaDb).
export function lazyAsync<T extends object>(load: () => Promise<T>): T {
  let loaded: Promise<T> | undefined;
  const target = () => (loaded ??= load());
  return new Proxy({} as T, {
    get(_, method) {
      // Not a promise itself (`await db` must not call a lazy `then`), and no symbol protocols.
      if (method === 'then' || typeof method === 'symbol') return undefined;
      return async (...args: unknown[]) => {
        const real = await target();
        const fn = (real as Record<PropertyKey, unknown>)[method];
        if (typeof fn !== 'function') throw new TypeError(`${String(method)} is not a method of the lazily loaded object`);
        return (fn as (...a: unknown[]) => unknown).apply(real, args);
      };
    },
  });
}
