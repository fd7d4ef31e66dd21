// Where a read goes: the read/write split's one decision, pure so that every case is tested.
// Writes always go to the primary. Reads go to a replica that answers and is no more than
// `maxLagSeconds` behind; a client that has just written reads from the primary (read-your-writes);
// and when the preferred places fail, anything that might answer is tried rather than nothing.

export interface SourceHealth {
  readonly host: string;
  readonly role: 'primary' | 'replica';
  /** Whether its last check answered in time (true until the first check says otherwise). */
  readonly answering: boolean;
  /** A replica's Seconds_Behind_Master; null when unknown (not replicating, or not checked yet). */
  readonly lagSeconds: number | null;
  /** The TLS cipher of this server's connections to it (Ssl_cipher), null when they are plain or not checked yet. */
  readonly tlsCipher?: string | null;
}

export interface ReadPreference {
  /** The client wrote moments ago: its own write must be visible. */
  readonly preferPrimary: boolean;
  readonly maxLagSeconds: number;
}

/** The hosts to try for a read, best first; every source appears exactly once. */
export function readOrder(sources: readonly SourceHealth[], preference: ReadPreference): string[] {
  const fresh = (s: SourceHealth) => s.role === 'replica' && s.answering && s.lagSeconds !== null && s.lagSeconds <= preference.maxLagSeconds;
  const rank = (s: SourceHealth): number => {
    if (!s.answering) return s.role === 'primary' ? 3 : 4;
    if (s.role === 'primary') return preference.preferPrimary ? 0 : 1;
    if (fresh(s)) return preference.preferPrimary ? 1 : 0;
    // Answering but behind, or lag unknown (its primary is gone): better than failing the read.
    return 2;
  };
  return [...sources]
    .map((s, index) => ({ s, index }))
    .sort((a, b) => rank(a.s) - rank(b.s) || (a.s.lagSeconds ?? Infinity) - (b.s.lagSeconds ?? Infinity) || a.index - b.index)
    .map(({ s }) => s.host);
}

/** Why a read went where it went, for the app's metrics. */
export type ReadReason = 'replica' | 'read-your-writes' | 'fallback' | 'primary-only';

/** Given the databases and which one served a read: a replica, or the primary for which reason. */
export function readReason(sources: readonly Pick<SourceHealth, 'host' | 'role'>[], servedBy: string, preferPrimary: boolean): ReadReason {
  const served = sources.find((s) => s.host === servedBy);
  if (served?.role === 'replica') return 'replica';
  if (!sources.some((s) => s.role === 'replica')) return 'primary-only';
  return preferPrimary ? 'read-your-writes' : 'fallback';
}
