import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A button for something that cannot be undone: it first asks (`question`), with the confirming
 * button focused; Escape or Cancel steps back. The confirming button is disabled while it runs.
 */
export function ConfirmButton({ label, question, confirmLabel, onConfirm }: { label: string; question: string; confirmLabel: string; onConfirm: () => Promise<void> }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirm.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" class="secondary" onClick={() => setAsking(true)}>
        {label}…
      </button>
    );
  }
  const run = () => {
    setBusy(true);
    // onConfirm shows its own errors; this only steps back once it is done.
    void onConfirm()
      .catch(() => undefined)
      .finally(() => {
        setBusy(false);
        setAsking(false);
      });
  };
  return (
    <span class="confirm" role="group" aria-label={question} onKeyDown={(event) => event.key === 'Escape' && setAsking(false)}>
      {question}
      <button ref={confirm} type="button" class="danger" disabled={busy} onClick={run}>
        {confirmLabel}
      </button>
      <button type="button" class="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
