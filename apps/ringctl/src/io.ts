// The streams and environment a run of ringctl works with; main.ts passes the process's own.

/** Where text goes: process.stdout or anything with a write(string) method (tests). */
export interface TextSink {
  write(text: string): unknown;
}

export interface RunIo {
  /** Where put reads its value when given neither an argument nor --file (or --file -). */
  readonly stdin?: (NodeJS.ReadableStream & { readonly isTTY?: boolean }) | undefined;
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** RINGSTORE_NODE is read from here; absent: no environment. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** The wall clock, ms since the epoch, that `ae status` measures ages against; absent: Date.now. */
  readonly nowMs?: (() => number) | undefined;
  /**
   * stdout when it is a terminal (main.ts passes process.stdout when isTTY): `cluster transfers
   * --watch` draws progress bars on it. Absent: stdout is a pipe or a file, and gets plain text.
   */
  readonly terminal?: (NodeJS.WritableStream & { readonly rows?: number }) | undefined;
}
