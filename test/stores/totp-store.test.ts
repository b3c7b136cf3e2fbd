import { expect } from "chai";
import { DomainError } from "../../core/domain/errors.js";
import type { TotpAuthenticators } from "../../core/domain/totp.js";
import { createPostgresLedgerStore } from "../../core/stores/postgres/ledger-store.js";
import { migrate } from "../../core/stores/postgres/migrate.js";
import { createPgliteClient } from "../../core/stores/postgres/pglite-client.js";
import type { SqlClient } from "../../core/stores/postgres/sql-client.js";
import {
  createPostgresTotpStore,
  TotpSecretUnreadableError,
  totpAad,
} from "../../core/stores/postgres/totp-store.js";
import { encrypt, newEncryptionKey, parseKeyring } from "../../lib/aead.js";
import { createManualClock } from "../../lib/clock.js";
import { newId } from "../../lib/ids.js";
import { newTotpSecret } from "../../lib/totp.js";
import { createTestSchemaClient, type TestSchemaClient } from "../support/postgres.js";

const keyring = parseKeyring(`k1:${newEncryptionKey()}`);
const clock = createManualClock();

/**
 * The store's behaviour on one database (opened once: PGlite takes seconds to start), each test
 * with a customer of its own.
 */
function totpStoreBehaviour(open: () => Promise<{ client: SqlClient; close(): Promise<void> }>) {
  let db: { client: SqlClient; close(): Promise<void> };
  let store: TotpAuthenticators;
  let customerId: string;
  let phones = 0;

  before(async () => {
    db = await open();
    await migrate(db.client);
    store = createPostgresTotpStore({ client: db.client, clock, keyring });
  });
  after(() => db.close());
  beforeEach(async () => {
    const ledger = createPostgresLedgerStore({ client: db.client, clock, ids: newId });
    phones += 1;
    const phoneNumber = `+4477009009${String(phones).padStart(2, "0")}`;
    ({ id: customerId } = await ledger.createCustomer({ displayName: "Ana", phoneNumber }));
  });

  it("should give exactly one of 10 concurrent acceptances of one step", async () => {
    await store.enroll(customerId, newTotpSecret());
    const results = await Promise.all(Array.from({ length: 10 }, () => store.acceptStep(customerId, 1000n)));
    expect(results.filter(Boolean)).to.have.length(1);
  });

  it("should accept only steps newer than the last accepted one", async () => {
    await store.enroll(customerId, newTotpSecret());
    expect(await store.acceptStep(customerId, 1000n)).to.equal(true);
    expect(await store.acceptStep(customerId, 999n)).to.equal(false);
    expect(await store.acceptStep(customerId, 1000n)).to.equal(false);
    expect(await store.acceptStep(customerId, 1001n)).to.equal(true);
    expect((await store.find(customerId))?.lastStep).to.equal(1001n);
  });

  it("should open the secret it sealed, and find nothing for a customer without one", async () => {
    const secret = newTotpSecret();
    await store.enroll(customerId, secret);
    expect(Buffer.from((await store.find(customerId))?.secret ?? []).equals(secret)).to.equal(true);
    expect(await store.find("cus_other")).to.equal(undefined);
    expect(await store.acceptStep("cus_other", 1n)).to.equal(false);
  });

  it("should refuse to open a secret sealed for another customer", async () => {
    const sealed = encrypt(keyring, newTotpSecret(), totpAad("cus_someone_else"));
    await store.enroll(customerId, newTotpSecret());
    await db.client.query("UPDATE totp_authenticators SET secret_sealed = $1 WHERE customer_id = $2", [
      sealed,
      customerId,
    ]);
    const error = await store.find(customerId).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(TotpSecretUnreadableError);
  });

  it("should answer NOT_FOUND when enrolling an unknown customer", async () => {
    const error = await store.enroll("cus_nobody", newTotpSecret()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(DomainError);
    expect((error as DomainError).code).to.equal("NOT_FOUND");
  });
}

describe("PostgreSQL TOTP store (PostgreSQL server)", () => {
  totpStoreBehaviour(async () => {
    const handle: TestSchemaClient = await createTestSchemaClient();
    return { client: handle.client, close: () => handle.drop() };
  });
});

describe("PostgreSQL TOTP store (PGlite)", () => {
  totpStoreBehaviour(async () => {
    const client = createPgliteClient();
    return { client, close: () => client.close() };
  });
});
