/** Names are 1–200 Unicode code points after trimming, as the API counts them. */
export const NAME_MAX = 200;

/** The same check the server makes, so most mistakes are caught before a round trip. */
export function nameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed.length === 0) return 'Enter a name.';
  if ([...trimmed].length > NAME_MAX) return `Use at most ${NAME_MAX} characters.`;
  return null;
}
