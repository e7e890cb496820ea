#!/usr/bin/env node
// `npx x402-gateway <command>`: the operator's CLI (scripts/cli.ts, docs/admin.md), run through tsx.
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
