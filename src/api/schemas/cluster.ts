import { Type } from "typebox";
import { Id } from "./common.js";

export const ClusterMember = Type.Object({
  id: Type.String(),
  raftAddress: Type.String(),
  apiUrl: Type.String(),
  voter: Type.Boolean(),
  matchIndex: Type.Optional(
    Type.Integer({ description: "leader only: highest index known replicated on it" }),
  ),
  lastContactMs: Type.Optional(Type.Integer({ description: "leader only: ms since it last answered" })),
  reachable: Type.Boolean(),
});

export const ClusterAnswer = Type.Object({
  nodeId: Type.String(),
  role: Type.Enum(["leader", "follower", "candidate", "learner"]),
  term: Type.Integer(),
  leaderId: Type.Union([Type.String(), Type.Null()]),
  commitIndex: Type.Integer(),
  appliedIndex: Type.Integer(),
  lastLogIndex: Type.Integer(),
  snapshotIndex: Type.Integer(),
  members: Type.Array(ClusterMember),
  database: Type.Object({ connected: Type.Boolean(), name: Type.String() }),
});

export const MemberJoinBody = Type.Object(
  {
    id: Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" }),
    raftAddress: Type.String({
      pattern: "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]{1,253}):[0-9]{1,5}$",
      maxLength: 300,
    }),
    apiUrl: Type.String({
      pattern: "^https?://[^\\s/?#]+$",
      maxLength: 300,
      description: "http://host:port",
    }),
    voter: Type.Optional(
      Type.Literal(true, { description: "joins as a learner and becomes a voter once caught up" }),
    ),
  },
  { additionalProperties: false },
);

export const MemberJoinAnswer = Type.Object({ member: ClusterMember });

export const NodeParams = Type.Object(
  { id: Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" }) },
  { additionalProperties: false },
);

export const TransferBody = Type.Object({ to: Type.Optional(Id) }, { additionalProperties: false });
export const TransferAnswer = Type.Object({ leaderId: Type.String(), term: Type.Integer() });

export const SnapshotAnswer = Type.Object({
  index: Type.Integer(),
  term: Type.Integer(),
  size: Type.Integer(),
});

export const RestartBody = Type.Object(
  { nodeId: Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" }) },
  { additionalProperties: false },
);
