import { expect } from "chai";
import { readDataConfig } from "../../core/data-config.js";

const SALT = "f3b9c1d27e8a4605b1c9d2e7f0a3b4c5d6e7f8091a2b3c4d";
const DAY_MS = 86_400_000;

function read(env: Record<string, string>) {
  const problems: string[] = [];
  const config = readDataConfig(env, false, SALT, problems);
  return { config, problems };
}

describe("readDataConfig TRANSCRIPT_RETENTION", () => {
  it("should keep transcripts 30 days unless told otherwise", () => {
    const { config, problems } = read({});
    expect(problems).to.deep.equal([]);
    expect(config.transcriptRetentionMs).to.equal(30 * DAY_MS);
  });

  it("should read a retention written as a duration", () => {
    expect(read({ TRANSCRIPT_RETENTION: "72h" }).config.transcriptRetentionMs).to.equal(3 * DAY_MS);
    expect(read({ TRANSCRIPT_RETENTION: "3650d" }).config.transcriptRetentionMs).to.equal(3650 * DAY_MS);
  });

  it("should refuse a malformed, zero or unbounded retention with one problem naming the variable", () => {
    for (const value of ["30 days", "0d", "-1d", "30", "3651d", "999999999d"]) {
      const { problems } = read({ TRANSCRIPT_RETENTION: value });
      expect(problems, value).to.have.length(1);
      expect(problems[0], value).to.match(/^TRANSCRIPT_RETENTION must be a duration/);
    }
  });
});
