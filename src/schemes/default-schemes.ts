import { batchSettlementEvmScheme } from "./batch-settlement-evm.js";
import { exactEvmScheme } from "./exact-evm.js";
import { exactSvmScheme } from "./exact-svm.js";
import { uptoEvmScheme } from "./upto-evm.js";
import { SchemeRegistry } from "./scheme-plugin.js";

export function buildDefaultSchemeRegistry(): SchemeRegistry {
  return new SchemeRegistry([exactEvmScheme, exactSvmScheme, uptoEvmScheme, batchSettlementEvmScheme]);
}
