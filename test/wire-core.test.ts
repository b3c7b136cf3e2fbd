import type { DescMethod, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { type ServingCore, serveCore } from "../core/serve.js";
import { ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { AuditService } from "../gen/teller/v1/audit_service_pb.js";
import { BankingService } from "../gen/teller/v1/banking_service_pb.js";
import { Channel } from "../gen/teller/v1/common_pb.js";
import { ConversationService } from "../gen/teller/v1/conversation_service_pb.js";
import { CustomerService } from "../gen/teller/v1/customer_service_pb.js";
import { SessionService } from "../gen/teller/v1/session_service_pb.js";
import { StepUpService } from "../gen/teller/v1/step_up_service_pb.js";
import { createLogger } from "../lib/logger.js";
import { startTestCore, type TestCore } from "./support/core.js";
import {
  connectWireClient,
  grpcWireClient,
  type Protocol,
  type WireAnswer,
  type WireClient,
} from "./support/wire-clients.js";

const ALL_SCOPES = ["conversation", "banking:read", "banking:write", "banking:admin", "audit"];
const SERVICES: readonly DescService[] = [
  SessionService,
  ConversationService,
  BankingService,
  CustomerService,
  StepUpService,
  AuditService,
];
const PROTOCOLS: readonly Protocol[] = ["grpc", "connect", "grpcweb"];

/** The two largest amounts: the contract's ceiling (2^53 − 1) and one past it. */
const MAX_MINOR_UNITS = 9_007_199_254_740_991n;

/**
 * What every RPC needs and answers to an empty request with a token holding every scope, from
 * the proto comments: the scope, and either the field an empty request names (INVALID_ARGUMENT),
 * "ok", or "unimplemented" (declared but not built yet).
 */
const CONTRACT: Record<string, { scope: string; empty: "ok" | "unimplemented" | { field: string } }> = {
  "teller.v1.SessionService/StartSession": { scope: "conversation", empty: { field: "channel" } },
  "teller.v1.SessionService/GetSession": { scope: "conversation", empty: { field: "session_id" } },
  "teller.v1.SessionService/EndSession": { scope: "conversation", empty: { field: "session_id" } },
  "teller.v1.SessionService/GetSessionStats": { scope: "conversation", empty: "ok" },
  "teller.v1.ConversationService/HandleMessage": { scope: "conversation", empty: { field: "channel" } },
  "teller.v1.BankingService/ListAccounts": { scope: "banking:read", empty: { field: "customer_id" } },
  "teller.v1.BankingService/GetBalance": { scope: "banking:read", empty: { field: "account_id" } },
  "teller.v1.BankingService/ListTransactions": { scope: "banking:read", empty: { field: "account_id" } },
  "teller.v1.BankingService/ListBeneficiaries": { scope: "banking:read", empty: { field: "customer_id" } },
  "teller.v1.BankingService/AddBeneficiary": { scope: "banking:write", empty: { field: "customer_id" } },
  "teller.v1.BankingService/CreateTransfer": { scope: "banking:write", empty: { field: "beneficiary_id" } },
  "teller.v1.BankingService/GetTransfer": { scope: "banking:read", empty: { field: "transfer_id" } },
  "teller.v1.CustomerService/CreateCustomer": { scope: "banking:admin", empty: { field: "display_name" } },
  "teller.v1.CustomerService/OpenAccount": { scope: "banking:admin", empty: { field: "customer_id" } },
  "teller.v1.CustomerService/Deposit": { scope: "banking:admin", empty: { field: "account_id" } },
  "teller.v1.CustomerService/EnrollTotp": { scope: "banking:admin", empty: { field: "customer_id" } },
  "teller.v1.CustomerService/EraseSubject": { scope: "banking:admin", empty: { field: "channel" } },
  "teller.v1.CustomerService/ReleaseHeldTransfer": {
    scope: "banking:admin",
    empty: { field: "transfer_id" },
  },
  "teller.v1.CustomerService/CancelHeldTransfer": { scope: "banking:admin", empty: { field: "transfer_id" } },
  "teller.v1.StepUpService/StartChallenge": { scope: "banking:write", empty: { field: "customer_id" } },
  "teller.v1.StepUpService/VerifyChallenge": { scope: "banking:write", empty: { field: "challenge_id" } },
  "teller.v1.AuditService/ListAuditEvents": { scope: "audit", empty: "ok" },
  "teller.v1.AuditService/VerifyAuditChain": { scope: "audit", empty: "ok" },
};

/** The Connect protocol's HTTP status for each code (connectrpc.com/docs/protocol#error-codes). */
const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.ResourceExhausted]: 429,
  [Code.Unimplemented]: 501,
};

/** Fragments that would mean an error text carries internals: SQL, Redis, a stack or a file path. */
const LEAKS = [/sql/i, /redis/i, /stack/i, /\bat \//, /\(\/[^)]*:\d+/, /node_modules/];

function pathOf(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

function unary(method: DescMethod): DescMethodUnary {
  if (method.methodKind !== "unary") throw new Error(`${pathOf(method)} is not unary`);
  return method as DescMethodUnary;
}

function expectNoLeak(text: string): void {
  for (const leak of LEAKS) expect(text, `"${text}" matches ${leak}`).to.not.match(leak);
}

/** The part of an answer every port must agree on. */
function essence(answer: WireAnswer) {
  if (answer.ok) return { ok: true, json: answer.json };
  const { code, message, reason, domain, metadata, fields } = answer;
  return { ok: false, code, message, reason, domain, metadata, fields };
}

/** Asserts the answers of all protocols equal the grpc-js one, and that no error leaks internals. */
function expectSame(answers: Record<Protocol, WireAnswer>): WireAnswer {
  for (const answer of Object.values(answers)) if (!answer.ok) expectNoLeak(answer.message);
  for (const protocol of PROTOCOLS) {
    expect(essence(answers[protocol]), `${protocol} vs grpc`).to.deep.equal(essence(answers.grpc));
  }
  return answers.grpc;
}

function expectError(
  answer: WireAnswer,
  code: Code,
  reason: string,
): asserts answer is WireAnswer & { ok: false } {
  if (answer.ok) expect.fail(`expected ${Code[code]} (${reason}), got ${JSON.stringify(answer.json)}`);
  expect({ code: answer.code, reason: answer.reason }).to.deep.equal({ code, reason });
  expect(answer.domain).to.equal("teller.bank");
}

function expectOk(answer: WireAnswer): asserts answer is WireAnswer & { ok: true } {
  if (!answer.ok)
    expect.fail(`expected a response, got ${Code[answer.code]} ${answer.reason}: ${answer.message}`);
}

/** Each ErrorInfo in the details of a Connect JSON error body. */
function jsonErrorInfos(body: { details?: { type: string; value: string }[] }) {
  return (body.details ?? [])
    .filter((d) => d.type === "google.rpc.ErrorInfo")
    .map((d) => fromBinary(ErrorInfoSchema, Buffer.from(d.value, "base64")));
}

describe("core on the wire: a grpc-js client and a Connect client get the same answers from both ports", () => {
  let t: TestCore;
  let serving: ServingCore;
  let clients: Record<Protocol, WireClient>;
  let auth: Record<string, string>;
  let nextPhone = 100 + Math.floor(Math.random() * 400);
  const phone = () => `+447700900${nextPhone++}`;

  /** Calls the method through grpc-js, Connect and gRPC-Web, in that order. */
  async function everywhere(
    method: DescMethodUnary,
    request: object,
    headers: Record<string, string> = auth,
  ): Promise<Record<Protocol, WireAnswer>> {
    const answers = {} as Record<Protocol, WireAnswer>;
    for (const protocol of PROTOCOLS)
      answers[protocol] = await clients[protocol].call(method, request, headers);
    return answers;
  }

  const same = async (method: DescMethodUnary, request: object) =>
    expectSame(await everywhere(method, request));

  async function postJson(path: string, body: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`http://127.0.0.1:${serving.connectPort}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) };
  }

  /** A customer with a EUR account and one deposit, made through CustomerService over grpc-js. */
  async function seedCustomer(minorUnits = 125_000n) {
    const m = CustomerService.method;
    const created = await clients.grpc.call(
      m.createCustomer,
      { displayName: "Ada", phoneNumber: phone() },
      auth,
    );
    expectOk(created);
    const { customer } = created.json as { customer: { customerId: string; phoneNumber: string } };
    const opened = await clients.grpc.call(
      m.openAccount,
      { customerId: customer.customerId, currency: "EUR" },
      auth,
    );
    expectOk(opened);
    const accountId = (opened.json as { account: { accountId: string } }).account.accountId;
    const deposit = {
      accountId,
      amount: { currency: "EUR", minorUnits },
      idempotencyKey: `seed-${accountId}`,
    };
    expectOk(await clients.grpc.call(m.deposit, deposit, auth));
    return { customerId: customer.customerId, phoneNumber: customer.phoneNumber, accountId };
  }

  before(async function () {
    this.timeout(120_000);
    t = await startTestCore({ env: { RATE_LIMIT_PER_SUBJECT: "1000/1m" } });
    serving = await serveCore(t.core, {
      host: "127.0.0.1",
      corePort: 0,
      connectPort: 0,
      maxMessageBytes: 1_048_576,
      logger: createLogger({ level: "silent" }),
    });
    clients = {
      grpc: grpcWireClient(serving.corePort),
      connect: connectWireClient(serving.connectPort),
      grpcweb: connectWireClient(serving.connectPort, "grpcweb"),
    };
    auth = { authorization: `Bearer ${await t.token(ALL_SCOPES)}` };
  });

  after(async function () {
    this.timeout(60_000);
    for (const client of Object.values(clients ?? {})) client.close();
    await serving?.close();
    await t?.close();
  });

  describe("every RPC of every teller.v1 service", () => {
    it("should have a contract row for exactly the RPCs the services declare", () => {
      const declared = SERVICES.flatMap((s) => s.methods.map(pathOf)).sort();
      expect(declared).to.deep.equal(Object.keys(CONTRACT).sort());
    });

    for (const service of SERVICES) {
      for (const method of service.methods) {
        const contract = CONTRACT[pathOf(method)];
        describe(pathOf(method), () => {
          it("should refuse a call without a token with UNAUTHENTICATED on every port", async () => {
            const answer = expectSame(await everywhere(unary(method), {}, {}));
            expectError(answer, Code.Unauthenticated, "UNAUTHENTICATED");
          });

          it("should refuse a forged token with UNAUTHENTICATED on every port", async () => {
            const forged = `${(auth.authorization as string).slice(0, -4)}AAAA`;
            const answer = expectSame(await everywhere(unary(method), {}, { authorization: forged }));
            expectError(answer, Code.Unauthenticated, "UNAUTHENTICATED");
          });

          it("should refuse a token lacking its scope with PERMISSION_DENIED on every port", async () => {
            const scopes = ALL_SCOPES.filter((s) => s !== contract?.scope);
            const headers = { authorization: `Bearer ${await t.token(scopes)}` };
            const answer = expectSame(await everywhere(unary(method), {}, headers));
            expectError(answer, Code.PermissionDenied, "PERMISSION_DENIED");
            expect(answer.metadata.required_scope).to.equal(contract?.scope);
          });

          it("should answer an empty request with every scope alike on every port", async () => {
            const answer = await same(unary(method), {});
            if (contract?.empty === "ok") expectOk(answer);
            else if (contract?.empty === "unimplemented")
              expectError(answer, Code.Unimplemented, "NOT_IMPLEMENTED");
            else {
              expectError(answer, Code.InvalidArgument, "INVALID_ARGUMENT");
              expect(answer.fields).to.deep.equal([contract?.empty.field]);
            }
          });
        });
      }
    }
  });

  describe("validation", () => {
    const c = CustomerService.method;
    const b = BankingService.method;
    const s = SessionService.method;
    const handle = ConversationService.method.handleMessage;
    const text = (value: string) => ({ case: "text" as const, value });
    const deposit = (amount: { currency: string; minorUnits: bigint } | undefined, key = "k-1") => ({
      accountId: "acc_1",
      amount,
      idempotencyKey: key,
    });
    const cases: [string, DescMethodUnary, object, string][] = [
      [
        "a phone number without +",
        c.createCustomer,
        { displayName: "A", phoneNumber: "447700900123" },
        "phone_number",
      ],
      [
        "a phone number starting +0",
        c.createCustomer,
        { displayName: "A", phoneNumber: "+0447700900" },
        "phone_number",
      ],
      [
        "a phone number of 16 digits",
        c.createCustomer,
        { displayName: "A", phoneNumber: `+4${"7".repeat(15)}` },
        "phone_number",
      ],
      [
        "a blank display name",
        c.createCustomer,
        { displayName: "   ", phoneNumber: "+447700900001" },
        "display_name",
      ],
      ["the currency EURO", c.openAccount, { customerId: "cus_1", currency: "EURO" }, "currency"],
      ["a lower-case currency", c.openAccount, { customerId: "cus_1", currency: "eur" }, "currency"],
      ["an empty customer id", c.openAccount, { customerId: "", currency: "EUR" }, "customer_id"],
      ["a deposit in EURO", c.deposit, deposit({ currency: "EURO", minorUnits: 1n }), "amount.currency"],
      ["a deposit of 0", c.deposit, deposit({ currency: "EUR", minorUnits: 0n }), "amount.minor_units"],
      ["a negative deposit", c.deposit, deposit({ currency: "EUR", minorUnits: -5n }), "amount.minor_units"],
      [
        "a deposit of 2^53",
        c.deposit,
        deposit({ currency: "EUR", minorUnits: MAX_MINOR_UNITS + 1n }),
        "amount.minor_units",
      ],
      [
        "a deposit of the largest int64",
        c.deposit,
        deposit({ currency: "EUR", minorUnits: 9_223_372_036_854_775_807n }),
        "amount.minor_units",
      ],
      ["a deposit without amount", c.deposit, deposit(undefined), "amount"],
      [
        "a deposit without idempotency key",
        c.deposit,
        deposit({ currency: "EUR", minorUnits: 1n }, ""),
        "idempotency_key",
      ],
      [
        "a key with a space",
        c.deposit,
        deposit({ currency: "EUR", minorUnits: 1n }, "a b"),
        "idempotency_key",
      ],
      ["an empty account id", b.getBalance, { accountId: "" }, "account_id"],
      ["an account id of 65 characters", b.getBalance, { accountId: "a".repeat(65) }, "account_id"],
      ["an account id with a slash", b.getBalance, { accountId: "acc/../x" }, "account_id"],
      ["an empty customer id", b.listAccounts, { customerId: "" }, "customer_id"],
      [
        "a page size of 101",
        b.listTransactions,
        { accountId: "acc_1", page: { pageSize: 101 } },
        "page.page_size",
      ],
      [
        "a forged page token",
        b.listTransactions,
        { accountId: "acc_1", page: { pageToken: "'; --" } },
        "page.page_token",
      ],
      ["an empty session id", s.getSession, { sessionId: "" }, "session_id"],
      ["an empty session id", s.endSession, { sessionId: "" }, "session_id"],
      [
        "CHANNEL_UNSPECIFIED",
        s.startSession,
        { channel: Channel.UNSPECIFIED, channelUserId: "u1" },
        "channel",
      ],
      ["an unknown channel number", s.startSession, { channel: 99, channelUserId: "u1" }, "channel"],
      [
        "a WhatsApp id that is not E.164",
        s.startSession,
        { channel: Channel.WHATSAPP, channelUserId: "07700900123" },
        "channel_user_id",
      ],
      [
        "an empty channel user id",
        s.startSession,
        { channel: Channel.WEB, channelUserId: "" },
        "channel_user_id",
      ],
      [
        "CHANNEL_UNSPECIFIED",
        handle,
        { channel: Channel.UNSPECIFIED, channelUserId: "u1", messageId: "m1", content: text("hi") },
        "channel",
      ],
      [
        "an SMS id that is not E.164",
        handle,
        { channel: Channel.SMS, channelUserId: "+12", messageId: "m1", content: text("hi") },
        "channel_user_id",
      ],
      [
        "an empty message id",
        handle,
        { channel: Channel.WEB, channelUserId: "u1", messageId: "", content: text("hi") },
        "message_id",
      ],
      [
        "text over 4096 characters",
        handle,
        { channel: Channel.WEB, channelUserId: "u1", messageId: "m1", content: text("x".repeat(4097)) },
        "text",
      ],
      [
        "4097 emoji (code points, not UTF-16 units)",
        handle,
        { channel: Channel.WEB, channelUserId: "u1", messageId: "m1", content: text("💶".repeat(4097)) },
        "text",
      ],
      [
        "neither text nor payload",
        handle,
        { channel: Channel.WEB, channelUserId: "u1", messageId: "m1" },
        "text",
      ],
    ];

    for (const [what, method, request, field] of cases) {
      it(`should refuse ${what} in ${method.name} with INVALID_ARGUMENT naming ${field} on every port`, async () => {
        const answer = await same(method, request);
        expectError(answer, Code.InvalidArgument, "INVALID_ARGUMENT");
        expect(answer.fields).to.deep.equal([field]);
        expect(answer.message).to.include(field);
      });
    }

    it("should accept text of exactly 4096 characters, counted in code points, on every port", async () => {
      const request = (id: string, char: string) => ({
        channel: Channel.WEB,
        channelUserId: "visitor-4096",
        messageId: id,
        content: text(char.repeat(4096)),
      });
      for (const protocol of PROTOCOLS) {
        expectOk(await clients[protocol].call(handle, request(`m-4096-${protocol}`, "x"), auth));
        expectOk(await clients[protocol].call(handle, request(`m-4096e-${protocol}`, "💶"), auth));
      }
    });

    it("should accept a deposit of exactly 9007199254740991 on every port", async () => {
      const { accountId } = await seedCustomer(1n);
      for (const protocol of PROTOCOLS) {
        const answer = await clients[protocol].call(
          c.deposit,
          {
            accountId: accountId,
            amount: { currency: "EUR", minorUnits: MAX_MINOR_UNITS - 1n },
            idempotencyKey: "max-1",
          },
          auth,
        );
        expectOk(answer);
        expect(answer.json).to.have.nested.property("account.balance.minorUnits", String(MAX_MINOR_UNITS));
      }
    });
  });

  describe("CustomerService and BankingService", () => {
    const c = CustomerService.method;
    const b = BankingService.method;

    it("should create a customer through each port and refuse the same phone with ALREADY_EXISTS on every port", async () => {
      const phones: Record<Protocol, string> = { grpc: phone(), connect: phone(), grpcweb: phone() };
      const created: WireAnswer[] = [];
      for (const protocol of PROTOCOLS) {
        const answer = await clients[protocol].call(
          c.createCustomer,
          { displayName: "  Zoë Ångström  ", phoneNumber: phones[protocol] },
          auth,
        );
        expectOk(answer);
        created.push(answer);
      }
      const shapes = created.map((a) => {
        const { customer } = (a.ok ? a.json : {}) as { customer: Record<string, unknown> };
        const { customerId, createdAt, ...rest } = customer;
        expect(customerId).to.be.a("string").and.not.equal("");
        expect(createdAt).to.be.a("string");
        return rest;
      });
      expect(shapes).to.deep.equal(
        PROTOCOLS.map((protocol) => ({ displayName: "Zoë Ångström", phoneNumber: phones[protocol] })),
      );
      for (const protocol of PROTOCOLS) {
        const answer = await same(c.createCustomer, { displayName: "Copy", phoneNumber: phones[protocol] });
        expectError(answer, Code.AlreadyExists, "ALREADY_EXISTS");
      }
    });

    it("should open an account through each port and refuse an unknown customer with NOT_FOUND", async () => {
      const { customerId } = await seedCustomer();
      for (const protocol of PROTOCOLS) {
        const answer = await clients[protocol].call(c.openAccount, { customerId, currency: "EUR" }, auth);
        expectOk(answer);
        expect(answer.json).to.nested.include({
          "account.customerId": customerId,
          "account.balance.currency": "EUR",
        });
        expect(answer.json).to.not.have.nested.property("account.balance.minorUnits");
      }
      expectError(
        await same(c.openAccount, { customerId: "cus_missing", currency: "EUR" }),
        Code.NotFound,
        "NOT_FOUND",
      );
      const listed = await same(b.listAccounts, { customerId });
      expectOk(listed);
      expect((listed.json as { accounts: unknown[] }).accounts).to.have.length(4);
    });

    it("should post a deposit once per idempotency key, whichever port repeats it", async () => {
      const { accountId } = await seedCustomer(100n);
      const request = {
        accountId,
        amount: { currency: "EUR", minorUnits: 2_550n },
        reference: "Salary",
        idempotencyKey: `dep-${accountId}`,
      };
      const answer = await same(c.deposit, request);
      expectOk(answer);
      expect(answer.json).to.nested.include({
        "transfer.toAccountId": accountId,
        "transfer.amount.minorUnits": "2550",
        "transfer.status": "TRANSFER_STATUS_POSTED",
        "account.balance.minorUnits": "2650",
      });
      const page = await same(b.listTransactions, { accountId });
      expectOk(page);
      expect((page.json as { transactions: unknown[] }).transactions).to.have.length(2);
      const conflict = await same(c.deposit, { ...request, amount: { currency: "EUR", minorUnits: 2_551n } });
      expectError(conflict, Code.FailedPrecondition, "IDEMPOTENCY_CONFLICT");
    });

    it("should answer ListAccounts, GetBalance and ListTransactions identically on every port", async () => {
      const { customerId, accountId } = await seedCustomer(125_000n);
      for (const key of ["a", "b", "c"]) {
        const more = {
          accountId,
          amount: { currency: "EUR", minorUnits: 1_000n },
          idempotencyKey: `more-${key}`,
        };
        expectOk(await clients.connect.call(c.deposit, more, auth));
      }
      const accounts = await same(b.listAccounts, { customerId });
      expectOk(accounts);
      expect(accounts.json).to.have.nested.property("accounts[0].accountId", accountId);
      const balance = await same(b.getBalance, { accountId });
      expectOk(balance);
      expect(balance.json).to.nested.include({ "account.balance.minorUnits": "128000" });
      const first = await same(b.listTransactions, { accountId, page: { pageSize: 3 } });
      expectOk(first);
      const token = (first.json as { nextPageToken?: string }).nextPageToken;
      expect(token).to.be.a("string").and.not.equal("");
      const second = await same(b.listTransactions, { accountId, page: { pageSize: 3, pageToken: token } });
      expectOk(second);
      expect(second.json).to.have.nested.property("transactions[0].amount.minorUnits", "125000");
      expect(second.json).to.not.have.property("nextPageToken");
    });

    it("should answer NOT_FOUND alike on every port for unknown customers and accounts", async () => {
      for (const [method, request] of [
        [b.listAccounts, { customerId: "cus_missing" }],
        [b.getBalance, { accountId: "acc_missing" }],
        [b.listTransactions, { accountId: "acc_missing" }],
        [
          c.deposit,
          { accountId: "acc_missing", amount: { currency: "EUR", minorUnits: 1n }, idempotencyKey: "nf" },
        ],
        [c.enrollTotp, { customerId: "cus_missing" }],
      ] as const) {
        expectError(await same(method as DescMethodUnary, request), Code.NotFound, "NOT_FOUND");
      }
    });
  });

  describe("SessionService", () => {
    const s = SessionService.method;

    it("should start one session per identity, whichever port asks, and read it back alike", async () => {
      const identity = { channel: Channel.TELEGRAM, channelUserId: `tg-${Date.now()}` };
      const started = await everywhere(s.startSession, identity);
      for (const protocol of PROTOCOLS) expectOk(started[protocol]);
      const sessions = PROTOCOLS.map(
        (p) => (started[p].ok ? started[p].json : {}) as Record<string, unknown>,
      );
      expect(sessions.map((x) => x.created)).to.deep.equal([true, undefined, undefined]);
      expect(sessions[1]?.session).to.deep.equal(sessions[0]?.session);
      expect(sessions[2]?.session).to.deep.equal(sessions[0]?.session);
      const session = sessions[0]?.session as { sessionId: string; channel: string; subjectId: string };
      expect(session.channel).to.equal("CHANNEL_TELEGRAM");
      expect(session.subjectId).to.match(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(session)).to.not.include(identity.channelUserId);
      const read = await same(s.getSession, { sessionId: session.sessionId });
      expectOk(read);
      expect(read.json).to.deep.equal({ session });
    });

    it("should end a session through one port and answer NOT_FOUND for it on every port", async () => {
      for (const protocol of PROTOCOLS) {
        const identity = { channel: Channel.WEB, channelUserId: `end-${protocol}-${Date.now()}` };
        const started = await clients[protocol].call(s.startSession, identity, auth);
        expectOk(started);
        const { sessionId } = (started.json as { session: { sessionId: string } }).session;
        const ended = await clients[protocol].call(s.endSession, { sessionId }, auth);
        expectOk(ended);
        expect(ended.json).to.deep.equal({});
        expectError(await same(s.endSession, { sessionId }), Code.NotFound, "NOT_FOUND");
        expectError(await same(s.getSession, { sessionId }), Code.NotFound, "NOT_FOUND");
      }
    });

    it("should count sessions alike on every port", async () => {
      const stats = await same(s.getSessionStats, {});
      expectOk(stats);
      expect(stats.json).to.have.property("maxSessions", 10_000);
    });
  });

  describe("ConversationService.HandleMessage", () => {
    const handle = ConversationService.method.handleMessage;
    const message = (from: string, messageId: string, value: string) => ({
      channel: Channel.WHATSAPP,
      channelUserId: from,
      messageId,
      content: { case: "text" as const, value },
    });

    it("should answer the balance with the same text on every port", async () => {
      const { phoneNumber } = await seedCustomer(125_000n);
      const answers = {} as Record<Protocol, WireAnswer>;
      for (const protocol of PROTOCOLS) {
        answers[protocol] = await clients[protocol].call(
          handle,
          message(phoneNumber, `wamid.${protocol}`, "what is my balance?"),
          auth,
        );
      }
      const replies = PROTOCOLS.map((protocol) => {
        const answer = answers[protocol];
        expectOk(answer);
        return answer.json as { sessionId: string; replies: { text: string }[]; sequence: number };
      });
      expect(replies[0]?.replies[0]?.text).to.equal("Your balance is 1,250.00 EUR.");
      expect(replies[1]?.replies).to.deep.equal(replies[0]?.replies);
      expect(replies[2]?.replies).to.deep.equal(replies[0]?.replies);
      expect(new Set(replies.map((r) => r.sessionId)).size).to.equal(1);
      expect(replies.map((r) => r.sequence)).to.deep.equal([1, 2, 3]);
    });

    it("should answer a message id already handled through another port as a duplicate with the first replies", async () => {
      const { phoneNumber } = await seedCustomer(99n);
      const first = await clients.grpc.call(handle, message(phoneNumber, "wamid.dup", "balance"), auth);
      expectOk(first);
      const again = await everywhere(handle, message(phoneNumber, "wamid.dup", "balance"));
      const firstJson = first.json as Record<string, unknown>;
      for (const protocol of PROTOCOLS) {
        const answer = again[protocol];
        expectOk(answer);
        expect(answer.json).to.deep.equal({ ...firstJson, duplicate: true });
      }
    });

    it("should tell someone who is not a customer the same on every port", async () => {
      const stranger = phone();
      const replies = [];
      for (const protocol of PROTOCOLS) {
        const answer = await clients[protocol].call(
          handle,
          message(stranger, `wamid.s-${protocol}`, "balance"),
          auth,
        );
        expectOk(answer);
        replies.push((answer.json as { replies: unknown }).replies);
      }
      expect(replies[1]).to.deep.equal(replies[0]);
      expect(replies[2]).to.deep.equal(replies[0]);
      expect(JSON.stringify(replies[0])).to.not.include("1,250");
    });
  });

  describe("HTTP status of Connect errors (plain fetch of JSON)", () => {
    const STATS = "teller.v1.SessionService/GetSessionStats";

    it("should answer 200 with the stats as JSON to a valid token", async () => {
      const res = await postJson(STATS, {}, auth);
      expect(res.status).to.equal(200);
      expect(res.body).to.have.property("maxSessions", 10_000);
    });

    it("should answer 401 without a token", async () => {
      const res = await postJson(STATS, {});
      expect(res.status).to.equal(HTTP_STATUS[Code.Unauthenticated]);
      expect(res.body.code).to.equal("unauthenticated");
      expect(jsonErrorInfos(res.body).map((i) => i.reason)).to.deep.equal(["UNAUTHENTICATED"]);
      expectNoLeak(res.text);
    });

    it("should answer 401 to a malformed authorization header", async () => {
      const res = await postJson(STATS, {}, { authorization: "Basic dXNlcjpwYXNz" });
      expect(res.status).to.equal(401);
      expect(res.body.code).to.equal("unauthenticated");
    });

    it("should answer 403 to a token lacking the scope", async () => {
      const res = await postJson(STATS, {}, { authorization: `Bearer ${await t.token(["banking:read"])}` });
      expect(res.status).to.equal(HTTP_STATUS[Code.PermissionDenied]);
      expect(res.body.code).to.equal("permission_denied");
      expect(jsonErrorInfos(res.body).map((i) => i.reason)).to.deep.equal(["PERMISSION_DENIED"]);
      expectNoLeak(res.text);
    });

    it("should answer 400, 404 and 409 for INVALID_ARGUMENT, NOT_FOUND and ALREADY_EXISTS", async () => {
      const { phoneNumber } = await seedCustomer();
      const cases: [string, object, Code, string][] = [
        ["teller.v1.BankingService/GetBalance", { accountId: "" }, Code.InvalidArgument, "invalid_argument"],
        ["teller.v1.BankingService/GetBalance", { accountId: "acc_missing" }, Code.NotFound, "not_found"],
        [
          "teller.v1.CustomerService/CreateCustomer",
          { displayName: "Dup", phoneNumber },
          Code.AlreadyExists,
          "already_exists",
        ],
      ];
      for (const [path, body, code, name] of cases) {
        const res = await postJson(path, body, auth);
        expect({ path, status: res.status, code: res.body.code }).to.deep.equal({
          path,
          status: HTTP_STATUS[code],
          code: name,
        });
        expectNoLeak(res.text);
      }
    });

    it("should answer 429 to the second HandleMessage past RATE_LIMIT_PER_SUBJECT=1/1m", async function () {
      this.timeout(120_000);
      const limited = await startTestCore({ env: { RATE_LIMIT_PER_SUBJECT: "1/1m" } });
      const served = await serveCore(limited.core, {
        host: "127.0.0.1",
        corePort: 0,
        connectPort: 0,
        maxMessageBytes: 1_048_576,
        logger: createLogger({ level: "silent" }),
      });
      const grpc = grpcWireClient(served.corePort);
      const connect = connectWireClient(served.connectPort);
      try {
        const headers = { authorization: `Bearer ${await limited.token(["conversation"])}` };
        const post = (messageId: string) =>
          fetch(`http://127.0.0.1:${served.connectPort}/teller.v1.ConversationService/HandleMessage`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: JSON.stringify({
              channel: "CHANNEL_WHATSAPP",
              channelUserId: "+447700900901",
              messageId,
              text: "balance",
            }),
          });
        const first = await post("rl-1");
        expect(first.status).to.equal(200);
        await first.text();
        const second = await post("rl-2");
        const text = await second.text();
        expect(second.status).to.equal(HTTP_STATUS[Code.ResourceExhausted]);
        const body = JSON.parse(text);
        expect(body.code).to.equal("resource_exhausted");
        expect(jsonErrorInfos(body).map((i) => i.reason)).to.deep.equal(["RATE_LIMITED"]);
        expectNoLeak(text);

        const other = (messageId: string) => ({
          channel: Channel.WHATSAPP,
          channelUserId: "+447700900902",
          messageId,
          content: { case: "text" as const, value: "balance" },
        });
        const handle = ConversationService.method.handleMessage;
        expectOk(await grpc.call(handle, other("rl-3"), headers));
        for (const client of [grpc, connect]) {
          const refused = await client.call(handle, other(`rl-${client.protocol}`), headers);
          expectError(refused, Code.ResourceExhausted, "RATE_LIMITED");
          expect(refused.retryDelayMs, client.protocol).to.be.greaterThan(0);
          expectNoLeak(refused.message);
        }
      } finally {
        grpc.close();
        await served.close();
        await limited.close();
      }
    });
  });
});
