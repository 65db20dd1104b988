import type { ConfChange, ConfState, NodeId } from "./types.js";

export function isVoter(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id);
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

export function confEquals(a: ConfState, b: ConfState): boolean {
  const same = (x: NodeId[], y: NodeId[]) => x.length === y.length && x.every((v) => y.includes(v));
  return same(a.voters, b.voters) && same(a.learners, b.learners);
}

/**
 * The configuration after one single-server change (§4.1), or undefined if the
 * change makes no sense here. Voters are only ever added or removed one at a
 * time, so every majority of the old configuration overlaps every majority of the new.
 */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState | undefined {
  const id = change.nodeId;
  if (!id) return undefined;
  const voters = [...conf.voters];
  const learners = [...conf.learners];
  switch (change.type) {
    case "addLearner":
      if (isMember(conf, id)) return undefined;
      learners.push(id);
      break;
    case "addVoter":
      if (isVoter(conf, id)) return undefined;
      if (learners.includes(id)) learners.splice(learners.indexOf(id), 1);
      voters.push(id);
      break;
    case "removeNode":
      if (!isMember(conf, id)) return undefined;
      if (voters.includes(id)) {
        if (voters.length === 1) return undefined;
        voters.splice(voters.indexOf(id), 1);
      } else {
        learners.splice(learners.indexOf(id), 1);
      }
      break;
    default:
      return undefined;
  }
  return { voters: voters.sort(), learners: learners.sort() };
}
