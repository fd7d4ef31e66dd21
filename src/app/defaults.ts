// The app's defaults that webstack's renderer needs too, apart from the config schema (zod), so
// that rendering a config does not load the app's validation.

/** How long a client that wrote reads from the primary, unless the app is told otherwise. */
export const READ_YOUR_WRITES_S = 5;

/** The largest request body the app takes; nginx in front refuses larger ones the same way, as JSON. */
export const MAX_BODY_BYTES = 16 * 1024;

/** What a body over the limit gets, from the app or from nginx. */
export const BODY_TOO_LARGE = { error: `the request body is larger than ${MAX_BODY_BYTES} bytes` } as const;
