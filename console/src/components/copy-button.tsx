import { useState } from 'preact/hooks';

/**
 * Copies `text`; says so for a moment (and to screen readers). Browsers offer the clipboard only
 * on https or localhost: elsewhere it says to select and copy by hand.
 */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [outcome, setOutcome] = useState<'copied' | 'failed' | undefined>();
  const copy = () => {
    const clipboard = navigator.clipboard as Clipboard | undefined;
    (clipboard ? clipboard.writeText(text) : Promise.reject(new Error('no clipboard'))).then(
      () => {
        setOutcome('copied');
        setTimeout(() => setOutcome(undefined), 2000);
      },
      () => setOutcome('failed'),
    );
  };
  return (
    <button type="button" class="secondary" onClick={copy} aria-live="polite">
      {outcome === 'copied' ? 'Copied' : outcome === 'failed' ? 'Copy is blocked here: select the text and copy it' : label}
    </button>
  );
}
