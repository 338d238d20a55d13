/** Who made a request, for audit rows and session records. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

/** For work that no client asked for over HTTP (the CLI, start-up). */
export const NO_REQUEST: RequestMeta = Object.freeze({ ip: null, userAgent: null });
