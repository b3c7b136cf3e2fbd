import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { type AuditEventSchema, AuditService } from "../../gen/teller/v1/audit_service_pb.js";
import type { AuditEvent, AuditLog } from "../domain/audit.js";
import { invalidArgument } from "../domain/errors.js";
import { ts } from "./convert.js";
import { optionalText, readPage } from "./fields.js";
import { route, type ServiceRoutes } from "./route.js";

/** Collaborators of the AuditService adapter. */
export interface AuditRpcDeps {
  readonly audit: AuditLog;
}

// google.protobuf.Timestamp's documented range: 0001-01-01T00:00:00Z … 9999-12-31T23:59:59Z.
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/** An optional Timestamp as epoch ms; INVALID_ARGUMENT outside the Timestamp's valid range. */
function optionalTime(field: string, value: Timestamp | undefined): number | undefined {
  if (value === undefined) return undefined;
  const validNanos = value.nanos >= 0 && value.nanos <= 999_999_999;
  if (!validNanos || value.seconds < MIN_SECONDS || value.seconds > MAX_SECONDS) {
    throw invalidArgument(field, "must be a valid timestamp between years 1 and 9999");
  }
  return timestampMs(value);
}

/** An audit event as a generated message init: seq as int64, hash as hex. */
function auditEventToPb(event: AuditEvent): MessageInitShape<typeof AuditEventSchema> {
  return {
    seq: event.seq,
    type: event.type,
    customerId: event.customerId ?? "",
    subjectId: event.subjectId ?? "",
    outcome: event.outcome,
    occurredAt: ts(event.occurredAt),
    attributes: { ...event.attributes },
    hash: event.hash,
  };
}

/**
 * The AuditService routes; scope `audit`. ListAuditEvents pages the trail oldest first with the
 * filters of the contract; VerifyAuditChain walks the whole chain and names the first broken
 * entry (issue 5 item 5).
 */
export function createAuditRoutes(deps: AuditRpcDeps): ServiceRoutes {
  const m = AuditService.method;
  return {
    service: AuditService,
    routes: {
      listAuditEvents: route(m.listAuditEvents, "audit", async (req) => {
        const startMs = optionalTime("start_time", req.startTime);
        const endMs = optionalTime("end_time", req.endTime);
        if (startMs !== undefined && endMs !== undefined && endMs <= startMs) {
          throw invalidArgument("end_time", "must be after start_time");
        }
        const page = await deps.audit.list({
          customerId: optionalText("customer_id", req.customerId, 64) || undefined,
          type: optionalText("type", req.type, 64) || undefined,
          startMs,
          endMs,
          ...readPage("page", req.page),
        });
        return { events: page.items.map(auditEventToPb), nextPageToken: page.nextCursor ?? "" };
      }),
      verifyAuditChain: route(m.verifyAuditChain, "audit", async () => {
        const result = await deps.audit.verify();
        return { ok: result.ok, firstBrokenSeq: result.firstBrokenSeq ?? 0n, checked: result.checked };
      }),
    },
  };
}
