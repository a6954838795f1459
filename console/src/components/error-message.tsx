import { ApiError } from '../api/client';

/** The API's `detail` for a failed request, announced to screen readers. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (error === undefined) return null;
  const text = error instanceof ApiError ? error.message : 'Something went wrong; try again.';
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}
