import { exactEvmScheme } from "./exact-evm.js";
import { SchemeRegistry } from "./scheme-plugin.js";

export function buildDefaultSchemeRegistry(): SchemeRegistry {
  return new SchemeRegistry([exactEvmScheme]);
}
