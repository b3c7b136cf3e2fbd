import {
  type EndSessionRequest,
  type GetSessionRequest,
  SessionService,
  type StartSessionRequest,
} from "../../gen/teller/v1/session_service_pb.js";
import { deriveSubjectId } from "../../lib/subject-id.js";
import { type Channel, isPhoneChannel } from "../domain/channel.js";
import { DomainError } from "../domain/errors.js";
import type { Session, SessionStore } from "../domain/session.js";
import { channelFromPb, channelToPb, ts } from "./convert.js";
import { requireId, requirePhone, requireText } from "./fields.js";
import { route, type ServiceRoutes } from "./route.js";

/** Collaborators of the SessionService adapter. */
export interface SessionRpcDeps {
  readonly sessions: SessionStore;
  readonly userIdSalt: string;
}

/** The SessionService routes; scope `conversation`. */
export function createSessionRoutes(deps: SessionRpcDeps): ServiceRoutes {
  const m = SessionService.method;
  return {
    service: SessionService,
    routes: {
      startSession: route(m.startSession, "conversation", async (req) => {
        const { channel, channelUserId } = validateIdentity(req);
        const subjectId = deriveSubjectId(deps.userIdSalt, channel, channelUserId);
        const { session, created } = await deps.sessions.start(subjectId, channel);
        return { session: sessionToPb(session), created };
      }),
      getSession: route(m.getSession, "conversation", async (req) => {
        return { session: sessionToPb(await live(deps, validateSessionId(req))) };
      }),
      endSession: route(m.endSession, "conversation", async (req) => {
        if (!(await deps.sessions.end(validateSessionId(req)))) throw notFound();
        return {};
      }),
      getSessionStats: route(m.getSessionStats, "conversation", async () => {
        const s = await deps.sessions.stats();
        return {
          activeSessions: s.active,
          createdLastHour: s.createdLastHour,
          createdLastDay: s.createdLastDay,
          maxSessions: s.max,
        };
      }),
    },
  };
}

/** Validates a channel identity: a whitelisted channel and a user id, E.164 on phone channels. */
export function validateIdentity(req: Pick<StartSessionRequest, "channel" | "channelUserId">): {
  channel: Channel;
  channelUserId: string;
} {
  const channel = channelFromPb("channel", req.channel);
  const channelUserId = requireText("channel_user_id", req.channelUserId, 128);
  if (isPhoneChannel(channel)) requirePhone("channel_user_id", channelUserId);
  return { channel, channelUserId };
}

function validateSessionId(req: GetSessionRequest | EndSessionRequest): string {
  return requireId("session_id", req.sessionId);
}

async function live(deps: SessionRpcDeps, id: string): Promise<Session> {
  const session = await deps.sessions.get(id);
  if (!session) throw notFound();
  return session;
}

function notFound() {
  return new DomainError("NOT_FOUND", "no live session with this id");
}

function sessionToPb(s: Session) {
  return {
    sessionId: s.id,
    channel: channelToPb(s.channel),
    subjectId: s.subjectId,
    createdAt: ts(s.createdAt),
    expiresAt: ts(s.expiresAt),
  };
}
