import { useState } from 'preact/hooks';

/** A form's submit handler that runs `action` once at a time and keeps its error for ErrorMessage. */
export function useSubmit(action: () => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const onSubmit = (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    action()
      .catch(setError)
      .finally(() => setBusy(false));
  };
  return { busy, error, onSubmit };
}
