export function unescapeHtml(text: string): string;
export function formFieldsOf(html: string): Record<string, string>;
export function submitSignInForm(
  authorizationUrl: string | URL,
  credentials: { email: string; password: string },
): Promise<{ pageStatus: number; pageHtml: string; status: number; html: string; location: string | undefined }>;
