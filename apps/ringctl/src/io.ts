// The streams and environment a run of ringctl works with; main.ts passes the process's own.

/** Where text goes: process.stdout or anything with a write(string) method (tests). */
export interface TextSink {
  write(text: string): unknown;
}

export interface RunIo {
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
}
