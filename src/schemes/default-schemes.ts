import { exactEvmScheme } from "./exact-evm.js";
import { exactSvmScheme } from "./exact-svm.js";
import { SchemeRegistry } from "./scheme-plugin.js";

export function buildDefaultSchemeRegistry(): SchemeRegistry {
  return new SchemeRegistry([exactEvmScheme, exactSvmScheme]);
}
