/**
 * Canonical JSON: the one byte-exact text of a value that a hash can commit to (security.md AUD-3).
 * Object keys are sorted recursively by UTF-16 code unit (the order RFC 8785 §3.2.3 prescribes),
 * there is no whitespace, strings and finite numbers are written as JSON.stringify writes them,
 * and a bigint is its decimal string, so an int64 read back as a string, a number or a bigint by
 * pg or PGlite serialises the same. Object properties whose value is undefined are left out, as
 * JSON.stringify does; anything JSON cannot hold (a function, a symbol, NaN, an instance other
 * than a plain object or array) throws TypeError instead of being dropped silently.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "bigint":
      return JSON.stringify(value.toString());
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) return `[${value.map(arrayItem).join(",")}]`;
      return canonicalObject(value);
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

function arrayItem(item: unknown): string {
  if (item === undefined) throw new TypeError("canonicalJson: an array item is undefined");
  return canonicalJson(item);
}

function canonicalObject(value: object): string {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError("canonicalJson: only plain objects and arrays have a canonical form");
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  return `{${members.join(",")}}`;
}
