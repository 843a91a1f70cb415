/** What a command may touch: output streams and the environment (injected for tests). */
export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress bars only then). */
  readonly isTTY: boolean;
  /** Standard input, read to its end (`-f -`), at most `maxBytes`. */
  readonly readStdin?: (maxBytes: number) => Promise<Buffer>;
}

/** Reads a stream to its end; more than `maxBytes` is an error (nothing is kept past it). */
export async function readAll(stream: NodeJS.ReadableStream, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > maxBytes) throw new RangeError(`more than ${maxBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export const processIO: CommandIO = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  isTTY: process.stderr.isTTY === true,
  readStdin: (maxBytes) => readAll(process.stdin, maxBytes),
};
