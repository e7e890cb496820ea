// PaymentChannel Durable Object: one per batch-settlement channel (its id). It is where a channel's vouchers are
// decided one request at a time (channels/channel-state.ts: reserve before the origin, commit or release after),
// its ledger outbox (each charge is queued in the same storage write that records it, then copied to D1), and its
// claim scheduler: an alarm claims the newest voucher on chain through the facilitator and settles it to the
// receiver, within CHANNEL_CLAIM_INTERVAL_SECONDS of the first unclaimed charge, at once when the payer has asked
// to withdraw. RPC surface: reserve, commit, release, refunded, refundFailed, claimNow, read.
import { DurableObject } from "cloudflare:workers";
import { parseGatewayConfig, type GatewayEnvVars } from "../gateway-config.js";
import type { ChannelRefund } from "../ledger/channel-ledger.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { LedgerOutbox } from "../ledger/ledger-outbox.js";
import {
  claimIntervalMs,
  commit,
  commitRefund,
  release,
  reserve,
  snapshotOf,
  unclaimed,
  type ChannelRecord,
  type ChannelSnapshot,
  type OnchainChannel,
  type ReserveInput,
  type ReserveResult,
} from "./channel-state.js";
import { claimChannel, type ClaimEnv, type ClaimOutcome, type ClaimRoute } from "./claim-channel.js";

/** A failed claim is retried after this, doubling, but never later than the claim interval allows. */
const CLAIM_RETRY_BASE_MS = 2000;

export type CommitOutcome = { kind: "committed"; channelState: ChannelSnapshot } | { kind: "refused"; reason: string };

interface Meta {
  /** When the unclaimed charges are next claimed; 0: nothing to claim. */
  claimDueAtMs: number;
  claimAttempts: number;
}

/** What a PaymentChannel reads of the Worker's env: the ledger, and what its claims need (claim-channel.ts). */
interface PaymentChannelEnv extends ClaimEnv, GatewayEnvVars {
  LEDGER: D1Database;
}

export class PaymentChannel extends DurableObject<PaymentChannelEnv> {
  #outbox?: LedgerOutbox;
  #claiming?: Promise<ClaimOutcome>;

  reserve(input: ReserveInput): ReserveResult {
    const result = reserve(this.#record(), input);
    if (result.kind === "reserved") this.#save(result.record);
    return result;
  }

  /** Charges the reserved request and queues its ledger row in the same write. */
  async commit(
    pendingId: string,
    amount: string,
    nowMs: number,
    entry: LedgerEntry,
    route: ClaimRoute,
    synced?: OnchainChannel,
  ): Promise<CommitOutcome> {
    const result = commit(this.#record(), pendingId, amount, nowMs, synced);
    if (result.kind === "refused") return result;
    const { record } = result;
    this.#save(record);
    this.ctx.storage.kv.put("route", route);
    const outbox = this.#ledger();
    outbox.enqueue({ table: "payments", entry: { ...entry, channelId: record.channelId } });
    outbox.enqueue({ table: "channels", channel: summaryOf(record, entry.at) });
    const meta = this.#meta();
    if (unclaimed(record) > 0n && (meta.claimDueAtMs === 0 || record.withdrawRequestedAt > 0)) {
      // A payer who asked to withdraw gets their money after the channel's delay: the claim must land first.
      this.#saveMeta({ ...meta, claimDueAtMs: record.withdrawRequestedAt > 0 ? nowMs : nowMs + this.#claimIntervalMs(record) });
    }
    await this.#scheduleAlarm();
    return { kind: "committed", channelState: snapshotOf(record) };
  }

  /** The request was not served: its voucher is forgotten; `entry` records why (origin failed, settle refused). */
  async release(pendingId: string, entry?: LedgerEntry): Promise<void> {
    const current = this.#record();
    const next = release(current, pendingId);
    if (next !== current) this.#save(next);
    if (entry) {
      this.#ledger().enqueue({ table: "payments", entry: { ...entry, ...(current ? { channelId: current.channelId } : {}) } });
      await this.#scheduleAlarm();
    }
  }

  /** The reserved refund landed: the channel now holds `after`, and the refund's row is queued in the same write. */
  async refunded(pendingId: string, after: OnchainChannel, nowMs: number, refund: ChannelRefund): Promise<CommitOutcome> {
    const result = commitRefund(this.#record(), pendingId, after, nowMs);
    const outbox = this.#ledger();
    // The refund happened on chain whatever this object thinks of the reservation: its row is kept either way.
    outbox.enqueue({ table: "channel_refunds", refund });
    if (result.kind === "committed") {
      this.#save(result.record);
      outbox.enqueue({ table: "channels", channel: summaryOf(result.record, refund.at) });
    }
    await this.#scheduleAlarm();
    return result.kind === "committed" ? { kind: "committed", channelState: snapshotOf(result.record) } : result;
  }

  /** The refund did not land (refused), or nobody knows (`unsure`: the chain is read again before the next voucher). */
  async refundFailed(pendingId: string, refund: ChannelRefund, unsure: boolean): Promise<void> {
    const current = this.#record();
    const next = release(current, pendingId, unsure);
    if (next !== current) this.#save(next);
    this.#ledger().enqueue({ table: "channel_refunds", refund });
    await this.#scheduleAlarm();
  }

  read(): ChannelRecord | undefined {
    return this.#record();
  }

  /** Claims and settles what is unclaimed now (the admin API's on-demand batch). */
  async claimNow(): Promise<ClaimOutcome> {
    return this.#claim();
  }

  override async alarm(): Promise<void> {
    const outbox = this.#ledger();
    await outbox.flush(this.env.LEDGER);
    const meta = this.#meta();
    if (meta.claimDueAtMs !== 0 && meta.claimDueAtMs <= Date.now()) await this.#claim();
    await this.#scheduleAlarm();
  }

  /** One claim at a time; charges committed while it runs wait for the next. */
  async #claim(): Promise<ClaimOutcome> {
    this.#claiming ??= this.#runClaim().finally(() => (this.#claiming = undefined));
    return this.#claiming;
  }

  async #runClaim(): Promise<ClaimOutcome> {
    const record = this.#record();
    if (!record || unclaimed(record) <= 0n) {
      this.#saveMeta({ claimDueAtMs: 0, claimAttempts: 0 });
      return { kind: "nothing_to_claim", ledger: [] };
    }
    const route = this.ctx.storage.kv.get<ClaimRoute>("route");
    if (!route) return { kind: "failed", reason: "no facilitator recorded for the channel", ledger: [] };
    const outcome = await claimChannel(this.env, parseGatewayConfig(this.env), record, route, (promise) => this.ctx.waitUntil(promise));
    const outbox = this.#ledger();
    const now = Date.now();
    for (const write of outcome.ledger) outbox.enqueue(write);
    const latest = this.#record()!;
    if (outcome.kind === "claimed") {
      // What the escrow now counts as claimed; charges made meanwhile stay unclaimed for the next batch.
      const claimed = BigInt(outcome.totalClaimed) > BigInt(latest.totalClaimed) ? outcome.totalClaimed : latest.totalClaimed;
      const next = { ...latest, totalClaimed: claimed };
      this.#save(next);
      outbox.enqueue({ table: "channels", channel: summaryOf(next, new Date(now).toISOString()) });
      this.#saveMeta({ claimDueAtMs: unclaimed(next) > 0n ? now + this.#claimIntervalMs(next) : 0, claimAttempts: 0 });
    } else if (outcome.kind === "failed") {
      const attempts = this.#meta().claimAttempts + 1;
      const delay = Math.min(CLAIM_RETRY_BASE_MS * 2 ** (attempts - 1), this.#claimIntervalMs(latest));
      console.error(
        JSON.stringify({ event: "channel_claim_failed", channelId: record.channelId, reason: outcome.reason, attempts, retryInMs: delay }),
      );
      this.#saveMeta({ claimDueAtMs: now + delay, claimAttempts: attempts });
    }
    await this.#scheduleAlarm();
    return outcome;
  }

  #claimIntervalMs(record: ChannelRecord): number {
    return claimIntervalMs(parseGatewayConfig(this.env).CHANNEL_CLAIM_INTERVAL_SECONDS * 1000, record.config.withdrawDelay);
  }

  /** One alarm serves both jobs: the next D1 flush attempt and the next claim. */
  async #scheduleAlarm(): Promise<void> {
    const candidates: number[] = [];
    const outbox = this.#ledger();
    if (outbox.pending() > 0) candidates.push(outbox.nextAttemptMs());
    const { claimDueAtMs } = this.#meta();
    if (claimDueAtMs !== 0) candidates.push(claimDueAtMs);
    if (candidates.length === 0) return;
    await this.ctx.storage.setAlarm(Math.max(Date.now(), Math.min(...candidates)));
  }

  #ledger(): LedgerOutbox {
    this.#outbox ??= new LedgerOutbox(this.ctx.storage.sql);
    return this.#outbox;
  }

  #record(): ChannelRecord | undefined {
    return this.ctx.storage.kv.get<ChannelRecord>("channel");
  }

  #save(record: ChannelRecord | undefined): void {
    if (record) this.ctx.storage.kv.put("channel", record);
    else this.ctx.storage.kv.delete("channel");
  }

  #meta(): Meta {
    return this.ctx.storage.kv.get<Meta>("meta") ?? { claimDueAtMs: 0, claimAttempts: 0 };
  }

  #saveMeta(meta: Meta): void {
    this.ctx.storage.kv.put("meta", meta);
  }
}

/** The channel's row in the D1 `channels` table (operators' view: held, charged, claimed). */
function summaryOf(record: ChannelRecord, at: string) {
  return {
    channelId: record.channelId,
    network: record.network,
    asset: record.config.token,
    payTo: record.config.receiver,
    payer: record.config.payer,
    balance: record.balance,
    charged: record.charged,
    totalClaimed: record.totalClaimed,
    withdrawRequestedAt: record.withdrawRequestedAt,
    at,
  };
}
