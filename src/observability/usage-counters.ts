// What this isolate has spent since it started, in the calls that are billed per call: Durable Object requests
// and RPC methods. Read through the admin API (`GET /usage`) and by the bench's attack-cost table, which counts what
// each hostile pattern makes the gateway do (docs/security.md). Per isolate, so a sum across isolates is the caller's.
import { envValue } from "../gateway-config.js";

export interface UsageCounters {
  /** Calls to a Durable Object stub (an RPC method or `fetch`) made from the Worker, not by objects themselves. */
  durableObjectCalls: number;
  /** JSON-RPC methods sent to a chain's RPC (RPC_URLS); a batch counts each method in it. */
  rpcCalls: number;
}

export const usage: UsageCounters = { durableObjectCalls: 0, rpcCalls: 0 };

const NAMESPACES = ["PAYMENT_RECORDS", "PAYMENT_IDENTIFIERS", "WALLET_SESSIONS", "FACILITATOR_STATE", "PAYMENT_CHANNELS"] as const;
const counted = new WeakMap<object, object>();

/**
 * `env` with each Durable Object namespace's stubs counting their calls. Built once per `env` object (the runtime
 * passes the same one to every request of an isolate), so a request pays a WeakMap look-up.
 */
export function countingEnv<E extends object>(env: E): E {
  let wrapped = counted.get(env) as E | undefined;
  if (!wrapped) {
    const namespaces = Object.fromEntries(
      NAMESPACES.flatMap((name) => {
        const namespace = envValue(env, name);
        return namespace ? [[name, countingNamespace(namespace as DurableObjectNamespace)]] : [];
      }),
    );
    wrapped = { ...env, ...namespaces } as E;
    counted.set(env, wrapped);
  }
  return wrapped;
}

function countingNamespace(namespace: DurableObjectNamespace): DurableObjectNamespace {
  return new Proxy(namespace, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (property !== "get" && property !== "getByName") return typeof value === "function" ? value.bind(target) : value;
      return (...args: unknown[]) => countingStub((value as (...a: unknown[]) => DurableObjectStub).apply(target, args));
    },
  });
}

function countingStub(stub: DurableObjectStub): DurableObjectStub {
  return new Proxy(stub, {
    get(target, property) {
      const value = (target as unknown as Record<PropertyKey, unknown>)[property];
      // Only methods by name: `then` (an awaited stub) and symbols (disposal) are not calls to the object.
      if (typeof value !== "function") return value;
      if (typeof property !== "string" || property === "then") return value.bind(target);
      return (...args: unknown[]) => {
        usage.durableObjectCalls++;
        // Called as the stub's own method: an RPC stub's method taken off it and applied elsewhere is not the same call.
        return (target as unknown as Record<string, (...a: unknown[]) => unknown>)[property]!(...args);
      };
    },
  });
}
