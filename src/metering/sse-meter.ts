// Metering a streamed (text/event-stream) answer from its last event (docs/metering.md): the events pass to the
// client as they arrive; only the last complete event's data is kept (bounded), and when the origin's stream
// ends the usage is read from it, the amount settled, and the receipt sent as one more event, since the
// answer's headers (where PAYMENT-RESPONSE would go) left long ago.

/** An event's data larger than this is not kept: its usage counts as malformed. */
const MAX_EVENT_BYTES = 1024 * 1024;

export interface SseTail {
  /** The last complete event's `data` (lines joined by "\n"), undefined when none was seen or it was too large. */
  lastData(): string | undefined;
}

export interface SseMeterHooks {
  /** Runs when the origin's stream ended: settles, and returns the event text to send last (or nothing). */
  onEnd(tail: SseTail): Promise<string | undefined>;
  /** The stream reached its longest life and was ended here: settles, and returns the event text to send last. */
  onTimeLimit(): Promise<string | undefined>;
  /** The client went away before the end; `deliveredBytes`: how much of the origin's content had gone out. */
  onCancel(reason: unknown, deliveredBytes: number): Promise<unknown> | undefined;
}

export interface MeteredStream {
  stream: ReadableStream<Uint8Array>;
  /**
   * Settles once the stream ended one way or another and its hook ran: for `waitUntil`, so a runtime that drops a
   * request whose client left (without cancelling its stream) still reaches the time limit and settles.
   */
  done: Promise<void>;
}

/**
 * Passes the stream through unchanged while following its events; appends what `onEnd` returns. A stream still
 * running `maxMs` after it began is cut there: a payment is valid only so long (pipeline/payment-window.ts).
 */
export function meterEventStream(body: ReadableStream<Uint8Array>, hooks: SseMeterHooks, maxMs: number): MeteredStream {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  let eventData: string[] = [];
  let eventBytes = 0;
  let last: string | undefined;
  // A line longer than any event we keep is skipped to its end rather than re-split with every chunk (F24).
  let skipping = false;
  const takeLines = (text: string, final: boolean) => {
    if (skipping) {
      const end = text.search(/\r|\n/);
      if (end < 0) return;
      text = text.slice(end);
      skipping = false;
    }
    pending += text;
    const lines = pending.split(/\r\n|\r|\n/);
    pending = final ? "" : lines.pop()!;
    for (const line of lines) {
      if (line === "") {
        // A blank line ends an event; one without data (a comment, a ping) leaves the last one standing.
        if (eventData.length > 0) last = eventBytes <= MAX_EVENT_BYTES ? eventData.join("\n") : undefined;
        eventData = [];
        eventBytes = 0;
      } else if (line.startsWith("data:")) {
        const value = line.slice(line.startsWith("data: ") ? 6 : 5);
        eventBytes += value.length;
        if (eventBytes <= MAX_EVENT_BYTES) eventData.push(value);
      }
    }
    if (pending.length > MAX_EVENT_BYTES) {
      pending = "";
      skipping = true;
      // Whatever that line was, the event it belongs to is too large to read usage from.
      eventBytes = MAX_EVENT_BYTES + 1;
      eventData.push("");
    }
  };
  const reader = body.getReader();
  let deliveredBytes = 0;
  let finished = false;
  let output: ReadableStreamDefaultController<Uint8Array> | undefined;
  let markDone: (finishing: Promise<unknown>) => void = () => {};
  const done = new Promise<void>(
    (resolve) =>
      (markDone = (finishing) =>
        resolve(
          finishing.then(
            () => {},
            () => {},
          ),
        )),
  );
  const end = async (closing: Promise<string | undefined>, controller: ReadableStreamDefaultController<Uint8Array>) => {
    markDone(closing);
    const text = await closing;
    try {
      if (text) controller.enqueue(encoder.encode(text));
      controller.close();
    } catch {
      // The client is gone; the settlement above still ran.
    }
  };
  // Whether or not the client still reads (one that stopped reading, or a runtime that does not pass a disconnect
  // on), the stream ends at its time limit: its payment is valid only so long.
  const timer = setTimeout(() => {
    if (finished || !output) return;
    finished = true;
    // The origin is told to stop: what it would still send is not paid for.
    reader.cancel("stream time limit").catch(() => {});
    void end(hooks.onTimeLimit(), output);
  }, maxMs);
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        output = controller;
      },
      async pull(controller) {
        if (finished) return;
        // An origin that breaks off mid-stream has ended it: its usage is read from what came, as at a normal end.
        const read = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (finished) return;
        if (!read.done) {
          takeLines(decoder.decode(read.value, { stream: true }), false);
          deliveredBytes += read.value.byteLength;
          controller.enqueue(read.value);
          return;
        }
        finished = true;
        clearTimeout(timer);
        takeLines(decoder.decode(), true);
        // An event the origin did not close with a blank line still counts as its last.
        if (eventData.length > 0) last = eventBytes <= MAX_EVENT_BYTES ? eventData.join("\n") : undefined;
        await end(hooks.onEnd({ lastData: () => last }), controller);
      },
      cancel(reason) {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        markDone(Promise.resolve(hooks.onCancel(reason, deliveredBytes)));
        return reader.cancel(reason);
      },
    },
    // Nothing read ahead of the client: what was pulled is what went out.
    { highWaterMark: 0 },
  );
  return { stream, done };
}
