/** A message carried across one client-side navigation ("Deleted “Trips”." on the list after deleting from the detail page). */
let pending: string | null = null;

export function setFlash(message: string): void {
  pending = message;
}

export function takeFlash(): string | null {
  const message = pending;
  pending = null;
  return message;
}
