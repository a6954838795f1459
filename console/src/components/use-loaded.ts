import { useEffect, useState } from 'preact/hooks';

/**
 * What `load` answers for the current `deps`: a newer request's answer replaces an older one's,
 * and an answer that arrives after the deps changed is dropped (filters changed meanwhile). The
 * error of the last request, or undefined; `reload` asks again.
 */
export function useLoaded<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [state, setState] = useState<{ value?: T; error?: unknown }>({});
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ value: previous.value }));
    load().then(
      (value) => current && setState({ value }),
      (error: unknown) => current && setState({ error }),
    );
    return () => {
      current = false;
    };
  }, [...deps, version]);
  return { value: state.value, error: state.error, reload: () => setVersion((previous) => previous + 1) };
}
