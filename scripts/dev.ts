// `npm run dev`: the whole local stack (chain + token, two facilitators, demo origin, gateway under wrangler dev),
// described in .dev/stack.json for `npm run pay`. Ctrl-C stops everything.
// CHAIN_ID=84532 runs the chain under Base Sepolia's id so x402 V1 clients (which name networks) can pay too.
import { startStack } from "../stack/start-stack.js";

const stack = await startStack({
  gatewayPort: Number(process.env.PORT ?? 8787),
  persistDir: ".dev/wrangler-state",
  writeStackFile: true,
  echo: process.env.STACK_VERBOSE === "1",
  ...(process.env.CHAIN_ID ? { chainId: Number(process.env.CHAIN_ID) } : {}),
});
const { info } = stack;
console.log(`
x402 gateway stack is up (${stack.timings.gateway} ms)
  gateway      ${info.gateway}
  origin       ${info.origin}
  facilitators ${info.facilitators.map((f) => `${f.id} ${f.url}`).join("\n               ")}
  chain        ${info.rpcUrl} (${info.network})
  token        ${info.token.address} (${info.token.name} v${info.token.version}, ${info.token.decimals} decimals)
  test payer   ${info.payer.address}
  priced       ${info.examples.priced}
  free         ${info.examples.free}

Pay one request:  npm run pay -- ${info.examples.priced}
Stack details:    .dev/stack.json     Stop: Ctrl-C
`);
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping…");
    await stack.stop();
    process.exit(0);
  });
}
