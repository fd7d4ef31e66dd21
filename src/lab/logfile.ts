import { closeSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';

// A daemon's log, owned by the supervisor: every daemon writes into a pipe, and only the
// supervisor appends to the file. (A daemon given the file itself can drop O_APPEND, as HAProxy
// does when it sets O_NONBLOCK, and then overwrites the log from byte 0 after a restart.)
// Bounded: past `maxBytes` the file is renamed to `<file>.1` (replacing the previous one) and a
// new one begins, so a long load test cannot fill the disk.

export const LOG_MAX_BYTES = 8 * 1024 * 1024;

export class LogFile {
  private fd: number;
  private size: number;

  constructor(
    readonly path: string,
    private readonly maxBytes = LOG_MAX_BYTES,
  ) {
    this.fd = openSync(path, 'a');
    this.size = fstatSync(this.fd).size;
  }

  write(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) this.rotate();
    writeSync(this.fd, bytes);
    this.size += bytes.length;
  }

  /** A line of webstack's own, told apart from the daemon's output. */
  note(text: string): void {
    this.write(`[webstack] ${new Date().toISOString()} ${text}\n`);
  }

  close(): void {
    closeSync(this.fd);
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, 'a');
    this.size = 0;
  }
}

/**
 * A log's last `count` lines, read from its last `maxBytes` only: a log may be megabytes long and
 * its end is what is wanted. None when the file does not exist.
 */
export function lastLines(file: string, count = Infinity, maxBytes = 256 * 1024): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    // Begun in the middle of a line: that part is not a line.
    if (length < size) lines.shift();
    while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
    return count === Infinity ? lines : lines.slice(-count);
  } finally {
    closeSync(fd);
  }
}
