// The app's defaults that webstack's renderer needs too, apart from the config schema (zod), so
// that rendering a config does not load the app's validation.

/** How long a client that wrote reads from the primary, unless the app is told otherwise. */
export const READ_YOUR_WRITES_S = 5;
