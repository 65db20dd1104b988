export { ReplicaError, type ReplicaErrorCode } from "./errors.js";
export {
  Replica,
  type ReplicaLogger,
  type ReplicaObserver,
  type ReplicaOptions,
  type ReplicaStatus,
  type ReplicaStorage,
  type ReplicaTransport,
} from "./replica.js";
export type { ApplyEntry, MemberInfo, StateMachine } from "./state-machine.js";
