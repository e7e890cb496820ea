// Child processes for the local stack. Each server runs in its own process group and is stopped by
// signalling the whole group, so wrappers (npx, wrangler → workerd) leave no orphan holding a port.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** The last 256 KiB the process printed (for error messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Resolves the start once a line matches; the match is returned. */
  ready: RegExp;
  timeoutMs?: number;
  /** Echo the process output to this process's stdout/stderr: all of it, or the lines the filter keeps. */
  echo?: boolean | ((line: string) => boolean);
}

// Last line of defence: whatever way this process exits (including a library's own process.exit on SIGINT),
// the groups it started get SIGTERM synchronously.
const liveGroups = new Set<number>();
const OUTPUT_KEPT_CHARS = 256 * 1024;
process.on("exit", () => {
  for (const pid of liveGroups) signalGroup(pid, "SIGTERM");
});

export async function startProcess(options: StartOptions): Promise<{ process: ManagedProcess; match: RegExpMatchArray }> {
  const child = spawn(options.command, options.args, {
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid !== undefined) liveGroups.add(child.pid);
  child.once("exit", () => child.pid !== undefined && liveGroups.delete(child.pid));
  // Only the tail is kept: a gateway logs a line per request, and `npm run dev` may run for days. Kept as chunks,
  // joined on demand and searched only until ready: copying and searching the whole tail per chunk made each log
  // line cost the bench's own process work, which only the system that logs paid.
  const chunks: string[] = [];
  let keptChars = 0;
  const output = () => chunks.join("").slice(-OUTPUT_KEPT_CHARS);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );

  const managed: ManagedProcess = {
    name: options.name,
    child,
    output,
    async stop() {
      if (exited || child.pid === undefined) return;
      signalGroup(child.pid, "SIGTERM");
      const killed = await Promise.race([exitPromise.then(() => true), delay(3000).then(() => false)]);
      if (!killed) signalGroup(child.pid, "SIGKILL");
      await Promise.race([exitPromise, delay(2000)]);
    },
  };

  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      void managed.stop();
      reject(new Error(`${options.name} did not start within ${options.timeoutMs ?? 30_000} ms:\n${output().slice(-4000)}`));
    }, options.timeoutMs ?? 30_000);
    let ready = false;
    const onData = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      const text = chunk.toString();
      chunks.push(text);
      keptChars += text.length;
      while (chunks.length > 1 && keptChars - chunks[0]!.length >= OUTPUT_KEPT_CHARS) keptChars -= chunks.shift()!.length;
      if (options.echo) {
        const keep = options.echo === true ? () => true : options.echo;
        const lines = text.split(/(?<=\n)/).filter((line) => keep(line));
        if (lines.length > 0) stream.write(lines.join("").replace(/^(?=.)/gm, `[${options.name}] `));
      }
      if (ready) return;
      const found = output().match(options.ready);
      if (found) {
        ready = true;
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout!.on("data", onData(process.stdout));
    child.stderr!.on("data", onData(process.stderr));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${code} before it was ready:\n${output().slice(-4000)}`));
    });
  });
  return { process: managed, match };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago (the OS picks it). */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no free port");
  return address.port;
}
