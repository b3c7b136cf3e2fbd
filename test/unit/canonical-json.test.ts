import { expect } from "chai";
import { canonicalJson } from "../../lib/canonical-json.js";

describe("canonicalJson", () => {
  it("should sort keys recursively and write no whitespace", () => {
    const value = { b: 1, a: { d: [3, { z: true, y: null }], c: "x" } };
    expect(canonicalJson(value)).to.equal('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it("should give the same text whatever order the keys were inserted in", () => {
    const one = { type: "deposit.posted", attributes: { currency: "EUR", amount: "100" }, seq: 3n };
    const two = { seq: 3n, attributes: { amount: "100", currency: "EUR" }, type: "deposit.posted" };
    expect(canonicalJson(one)).to.equal(canonicalJson(two));
  });

  it("should write a bigint as its decimal string, so int8 from any driver serialises alike", () => {
    expect(canonicalJson({ seq: 9_223_372_036_854_775_807n })).to.equal('{"seq":"9223372036854775807"}');
    expect(canonicalJson(BigInt("42"))).to.equal(canonicalJson("42"));
  });

  it("should sort keys by UTF-16 code unit, as RFC 8785 does", () => {
    const value = { "\u20ac": 1, "\r": 2, "\ud83d\ude00": 3, "1": 4, a: 5, A: 6, "": 7 };
    expect(canonicalJson(value)).to.equal('{"":7,"\\r":2,"1":4,"A":6,"a":5,"€":1,"😀":3}');
  });

  it("should escape strings as JSON.stringify does, including quotes and control characters", () => {
    expect(canonicalJson('say "hi"\n\u0001')).to.equal('"say \\"hi\\"\\n\\u0001"');
    expect(canonicalJson("\ud800")).to.equal('"\\ud800"');
  });

  it("should leave out properties whose value is undefined", () => {
    expect(canonicalJson({ a: undefined, b: 1 })).to.equal('{"b":1}');
  });

  it("should write numbers as JSON does, with -0 as 0", () => {
    expect(canonicalJson([0, -0, 1.5, 1e21, 1767225600123])).to.equal("[0,0,1.5,1e+21,1767225600123]");
  });

  it("should refuse values JSON cannot hold rather than drop them", () => {
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      () => 1,
      Symbol("s"),
      new Date(0),
      [undefined],
    ]) {
      expect(() => canonicalJson(bad), String(bad)).to.throw(TypeError);
    }
    expect(() => canonicalJson(undefined)).to.throw(TypeError);
  });

  it("should accept objects without a prototype", () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: "2", a: "1" });
    expect(canonicalJson(bare)).to.equal('{"a":"1","b":"2"}');
  });
});
