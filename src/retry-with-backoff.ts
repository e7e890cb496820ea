// The one retry loop: exponential back-off with jitter, for calls that are safe to repeat (a repeat must not apply
// twice). What is worth another try, and how the delays spread, are the caller's.

export interface BackoffOptions {
  attempts: number;
  /** The first back-off; each further one doubles. */
  baseDelayMs: number;
  /** `full`: anywhere from 0 to the back-off; `around`: from half to one and a half times it. */
  jitter: "full" | "around";
  /** Which failures get another try (default: every one). */
  retryable?: (error: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
}

export async function retryWithBackoff<T>(call: () => Promise<T>, options: BackoffOptions): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= options.attempts || (options.retryable && !options.retryable(error))) throw error;
      const backoffMs = options.baseDelayMs * 2 ** (attempt - 1);
      await sleep(options.jitter === "full" ? Math.random() * backoffMs : backoffMs * (0.5 + Math.random()));
    }
  }
}
