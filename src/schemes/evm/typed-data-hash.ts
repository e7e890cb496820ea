// EIP-712 hashing on the paid path. viem's hashTypedData validates and ABI-encodes through hex strings, ~0.5 ms
// a payment in workerd; the typed data a payment carries is a few words, so it is encoded here straight into
// bytes, with each type's and domain's hash remembered. Whatever this does not handle in full (arrays, values it
// would have to coerce, anything viem refuses) goes to viem, so the answer is always viem's (property-tested).
import { hashTypedData, hexToBytes, isAddress, keccak256, type Hex, type TypedDataDefinition } from "viem";

type Field = { readonly name: string; readonly type: string };
type Types = Record<string, readonly Field[]>;

/** Not encoded here: viem decides (and refuses what it refuses). */
const UNHANDLED = Symbol("unhandled");

/** Remembered per (primary type, types): its type hash and fields, or that viem must take it. */
const structs = new Map<string, StructInfo | typeof UNHANDLED>();
/** Remembered per domain: its separator. */
const domains = new Map<string, Uint8Array>();
const CACHE_MAX = 256;

interface StructInfo {
  typeHash: Uint8Array;
  fields: readonly Field[];
  types: Types;
}

/** viem's `hashTypedData`, sooner. */
export function hashTypedDataFast(typedData: TypedDataDefinition): Hex {
  const fast = tryHash(typedData);
  return fast === UNHANDLED ? hashTypedData(typedData) : fast;
}

function tryHash(typedData: TypedDataDefinition): Hex | typeof UNHANDLED {
  const { primaryType, message } = typedData as { primaryType: string; message: unknown };
  const domain = (typedData.domain ?? {}) as Record<string, unknown>;
  const givenTypes = typedData.types as Types;
  if (primaryType === "EIP712Domain" || typeof domain !== "object" || domain === null) return UNHANDLED;
  const domainFields = givenTypes.EIP712Domain ?? domainFieldsOf(domain);
  const types: Types = { ...givenTypes, EIP712Domain: domainFields };
  const separator = domainSeparator(domain, domainFields, types);
  if (separator === UNHANDLED) return UNHANDLED;
  const info = structInfo(primaryType, types);
  if (info === UNHANDLED) return UNHANDLED;
  const structHash = hashStruct(info, message);
  if (structHash === UNHANDLED) return UNHANDLED;
  const digest = new Uint8Array(66);
  digest[0] = 0x19;
  digest[1] = 0x01;
  digest.set(separator, 2);
  digest.set(structHash, 34);
  return keccak256(digest);
}

/** As viem derives it: a field for each member the domain has (not null or undefined). */
function domainFieldsOf(domain: Record<string, unknown>): Field[] {
  const fields: Field[] = [];
  if (domain.name != null) fields.push({ name: "name", type: "string" });
  if (domain.version != null) fields.push({ name: "version", type: "string" });
  if (domain.chainId != null) fields.push({ name: "chainId", type: "uint256" });
  if (domain.verifyingContract != null) fields.push({ name: "verifyingContract", type: "address" });
  if (domain.salt != null) fields.push({ name: "salt", type: "bytes32" });
  return fields;
}

function domainSeparator(domain: Record<string, unknown>, fields: readonly Field[], types: Types): Uint8Array | typeof UNHANDLED {
  // Only primitive members name a domain faithfully by their text; any other is hashed each time.
  const primitive = fields.every(({ name }) => typeof domain[name] !== "object" || domain[name] === null);
  const key = primitive
    ? JSON.stringify(fields.map(({ name, type }) => [name, type, typeof domain[name], String(domain[name])]))
    : undefined;
  const known = key === undefined ? undefined : domains.get(key);
  if (known) return known;
  const info = structInfo("EIP712Domain", types);
  if (info === UNHANDLED) return UNHANDLED;
  const separator = hashStruct(info, domain);
  if (separator === UNHANDLED) return UNHANDLED;
  if (key === undefined) return separator;
  if (domains.size >= CACHE_MAX) domains.clear();
  domains.set(key, separator);
  return separator;
}

function structInfo(primaryType: string, types: Types): StructInfo | typeof UNHANDLED {
  const key = `${primaryType}\0${JSON.stringify(types)}`;
  let info = structs.get(key);
  if (info === undefined) {
    info = describeStruct(primaryType, types);
    if (structs.size >= CACHE_MAX) structs.clear();
    structs.set(key, info);
  }
  return info;
}

const INTEGER =
  /^u?int(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|200|208|216|224|232|240|248|256)$/;
const FIXED_BYTES = /^bytes([1-9]|[12][0-9]|3[0-2])$/;
const SOLIDITY_LIKE = /^(u?int|bytes)[0-9]*$/;

/** The type's EIP-712 encoding (itself, then the structs it uses, sorted); viem's when any type is unusual. */
function describeStruct(primaryType: string, types: Types): StructInfo | typeof UNHANDLED {
  const fields = types[primaryType];
  if (!fields) return UNHANDLED;
  for (const [name, structFields] of Object.entries(types)) {
    if (!/^[A-Za-z0-9_$:]+$/.test(name) || name === "address" || name === "bool" || name === "string" || SOLIDITY_LIKE.test(name))
      return UNHANDLED;
    for (const field of structFields) {
      const atomic =
        field.type === "address" ||
        field.type === "bool" ||
        field.type === "string" ||
        field.type === "bytes" ||
        INTEGER.test(field.type) ||
        FIXED_BYTES.test(field.type);
      if (!atomic && !Object.hasOwn(types, field.type)) return UNHANDLED; // arrays, and unknown types
    }
  }
  const used = new Set<string>();
  const collect = (type: string) => {
    if (used.has(type) || !Object.hasOwn(types, type)) return;
    used.add(type);
    for (const field of types[type]!) collect(field.type);
  };
  collect(primaryType);
  used.delete(primaryType);
  const encodeType = [primaryType, ...[...used].sort()]
    .map((type) => `${type}(${types[type]!.map((f) => `${f.type} ${f.name}`).join(",")})`)
    .join("");
  return { typeHash: keccak256(new TextEncoder().encode(encodeType), "bytes"), fields, types };
}

function hashStruct(info: StructInfo, data: unknown): Uint8Array | typeof UNHANDLED {
  if (typeof data !== "object" || data === null) return UNHANDLED;
  const values = data as Record<string, unknown>;
  const encoded = new Uint8Array(32 * (1 + info.fields.length));
  encoded.set(info.typeHash, 0);
  for (const [i, field] of info.fields.entries()) {
    const word = encodeField(field.type, values[field.name], info.types);
    if (word === UNHANDLED) return UNHANDLED;
    encoded.set(word, 32 * (i + 1));
  }
  return keccak256(encoded, "bytes");
}

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

function encodeField(type: string, value: unknown, types: Types): Uint8Array | typeof UNHANDLED {
  if (Object.hasOwn(types, type)) {
    const info = structInfo(type, types);
    return info === UNHANDLED ? UNHANDLED : hashStruct(info, value);
  }
  const word = new Uint8Array(32);
  if (type === "address") {
    if (typeof value !== "string" || !isAddress(value)) return UNHANDLED;
    word.set(hexToBytes(value), 12);
    return word;
  }
  if (type === "bool") {
    if (typeof value !== "boolean") return UNHANDLED;
    word[31] = value ? 1 : 0;
    return word;
  }
  if (type === "string") return typeof value === "string" ? keccak256(new TextEncoder().encode(value), "bytes") : UNHANDLED;
  if (type === "bytes") return typeof value === "string" && HEX.test(value) ? keccak256(hexToBytes(value as Hex), "bytes") : UNHANDLED;
  const fixed = FIXED_BYTES.exec(type);
  if (fixed) {
    if (typeof value !== "string" || !HEX.test(value) || value.length !== 2 + 2 * Number(fixed[1])) return UNHANDLED;
    word.set(hexToBytes(value as Hex), 0);
    return word;
  }
  const integer = INTEGER.exec(type);
  if (integer) return encodeInteger(value, Number(integer[1]), type.startsWith("int"), word);
  return UNHANDLED;
}

function encodeInteger(value: unknown, bits: number, signed: boolean, word: Uint8Array): Uint8Array | typeof UNHANDLED {
  if (typeof value !== "bigint" && !(typeof value === "number" && Number.isSafeInteger(value))) return UNHANDLED;
  let n = BigInt(value);
  const limit = 1n << BigInt(signed ? bits - 1 : bits);
  if (signed ? n < -limit || n >= limit : n < 0n || n >= limit) return UNHANDLED;
  if (n < 0n) n += 1n << 256n; // two's complement over the whole word
  for (let i = 31; i >= 0 && n > 0n; i--, n >>= 8n) word[i] = Number(n & 0xffn);
  return word;
}
