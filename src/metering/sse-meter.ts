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
  /** The client went away before the end: nothing is settled for an answer it did not get in full. */
  onCancel(reason: unknown): void;
}

/** Passes the stream through unchanged while following its events; appends what `onEnd` returns. */
export function meterEventStream(body: ReadableStream<Uint8Array>, hooks: SseMeterHooks): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  let eventData: string[] = [];
  let eventBytes = 0;
  let last: string | undefined;
  const takeLines = (text: string, final: boolean) => {
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
  };
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (!done) {
        takeLines(decoder.decode(value, { stream: true }), false);
        controller.enqueue(value);
        return;
      }
      takeLines(decoder.decode(), true);
      // An event the origin did not close with a blank line still counts as its last.
      if (eventData.length > 0) last = eventBytes <= MAX_EVENT_BYTES ? eventData.join("\n") : undefined;
      const closing = await hooks.onEnd({ lastData: () => last });
      if (closing) controller.enqueue(encoder.encode(closing));
      controller.close();
    },
    cancel(reason) {
      hooks.onCancel(reason);
      return reader.cancel(reason);
    },
  });
}
