import assert from "node:assert/strict";
import { test } from "node:test";
import { EntryType, InvariantError, type Message, MessageType, type Ready } from "../../src/raft/index.js";
import { drain, drainMessages, entriesWithTerms, msg, newNode, type TestNode, tickUntil } from "./helpers.js";

const VOTERS = ["a", "b", "c"];

/** Makes `t` (id "a") leader of a, b, c by answering its pre-vote and vote; returns the new term. */
function electA(t: TestNode): number {
  const [pre] = tickUntil(t, MessageType.PreVote);
  t.node.step(msg({ type: MessageType.PreVoteResp, from: "b", to: "a", term: pre!.term }));
  const votes = drainMessages(t).filter((m) => m.type === MessageType.Vote);
  assert.ok(votes.length > 0, "a campaigns after winning the pre-vote");
  const term = votes[0]!.term;
  t.node.step(msg({ type: MessageType.VoteResp, from: "b", to: "a", term }));
  drain(t);
  assert.equal(t.node.status().role, "leader");
  return term;
}

/** Elects a and has b acknowledge its no-op, so a has committed an entry of its term. */
function committedLeaderA(): TestNode & { term: number } {
  const t = newNode("a", VOTERS);
  const term = electA(t);
  const last = t.node.status().lastIndex;
  t.node.step(msg({ type: MessageType.AppResp, from: "b", to: "a", term, index: last }));
  drain(t);
  assert.equal(t.node.status().commitIndex, last);
  return { ...t, term };
}

/** Takes one Ready and handles it like a runtime: persist, then advance. */
function nextReady(t: TestNode): Ready {
  const rd = t.node.ready();
  t.storage.append(rd.entries);
  if (rd.hardState) t.storage.hardState = { ...rd.hardState };
  t.node.advance(rd);
  return rd;
}

function stepAndReady(t: TestNode, m: Message): Ready {
  t.node.step(m);
  return nextReady(t);
}

function voteReq(from: string, to: string, term: number, index = 0, logTerm = 0): Message {
  return msg({ type: MessageType.Vote, from, to, term, index, logTerm });
}

function responses(rd: Ready, type: MessageType): Message[] {
  return rd.messages.filter((m) => m.type === type);
}

// ------------------------------------------------------------- persistence

test("§5.1 persistence: a Ready granting a vote carries the new term and vote with mustSync", () => {
  const t = newNode("b", VOTERS);
  const rd = stepAndReady(t, voteReq("a", "b", 1));
  const [resp] = responses(rd, MessageType.VoteResp);
  assert.equal(resp?.reject, false);
  assert.deepEqual(rd.hardState, { term: 1, vote: "a", commit: 0 });
  assert.equal(rd.mustSync, true);
});

test("§5.1 persistence: a vote granted within an already-persisted term still carries the vote (rejected VoteResp moved the term)", () => {
  const t = newNode("b", VOTERS);
  const first = stepAndReady(
    t,
    msg({ type: MessageType.VoteResp, from: "c", to: "b", term: 5, reject: true }),
  );
  assert.deepEqual(first.hardState, { term: 5, vote: "", commit: 0 });
  assert.equal(first.mustSync, true);
  const rd = stepAndReady(t, voteReq("a", "b", 5));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, false);
  assert.equal(rd.hardState?.term, 5);
  assert.equal(rd.hardState?.vote, "a", "the vote must be durable before the grant leaves");
  assert.equal(rd.mustSync, true);
  assert.equal(t.storage.hardState.vote, "a");
});

test("§5.1 persistence: a vote granted within an already-persisted term still carries the vote (HeartbeatResp moved the term)", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, msg({ type: MessageType.HeartbeatResp, from: "c", to: "b", term: 5 }));
  assert.equal(t.storage.hardState.term, 5);
  const rd = stepAndReady(t, voteReq("c", "b", 5));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, false);
  assert.deepEqual(rd.hardState, { term: 5, vote: "c", commit: 0 });
  assert.equal(rd.mustSync, true);
});

test("persistence: a restarted node remembers its vote and refuses a second candidate in the same term", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, voteReq("a", "b", 3));
  const again = newNode("b", VOTERS, { storage: t.storage });
  assert.equal(again.node.status().vote, "a");
  assert.equal(again.node.status().term, 3);
  const rd = stepAndReady(again, voteReq("c", "b", 3));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, true);
});

test("§5.3 persistence: entries acknowledged by an AppResp are in the same Ready's entries (persisted before sending)", () => {
  const t = newNode("b", VOTERS);
  const ents = entriesWithTerms([1, 1, 1]);
  t.node.step(
    msg({ type: MessageType.App, from: "a", to: "b", term: 1, index: 0, logTerm: 0, entries: ents }),
  );
  const rd = t.node.ready();
  const [ack] = responses(rd, MessageType.AppResp);
  assert.equal(ack?.reject, false);
  assert.equal(ack?.index, 3);
  assert.deepEqual(
    rd.entries.map((e) => e.index),
    [1, 2, 3],
  );
  assert.equal(rd.mustSync, true);
  t.storage.append(rd.entries);
  t.node.advance(rd);
  assert.equal(t.node.hasReady(), false);
});

test("persistence: a leader's own new entries are handed out for persisting with mustSync", () => {
  const t = committedLeaderA();
  assert.equal(t.node.propose(new TextEncoder().encode("x")).ok, true);
  const rd = t.node.ready();
  assert.equal(rd.entries.length, 1);
  assert.equal(rd.entries[0]?.term, t.term);
  assert.equal(rd.mustSync, true);
  t.node.advance(rd);
});

test("a heartbeat that only advances the commit index asks for no fsync", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(
    t,
    msg({ type: MessageType.App, from: "a", to: "b", term: 1, entries: entriesWithTerms([1, 1]), commit: 0 }),
  );
  const rd = stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "a", to: "b", term: 1, commit: 2 }));
  assert.equal(rd.hardState?.commit, 2);
  assert.equal(rd.mustSync, false);
  assert.equal(rd.committedEntries.length, 2);
});

test("no input is accepted between ready() and advance(), and advance() needs a ready()", () => {
  const t = newNode("b", VOTERS);
  t.node.step(voteReq("a", "b", 1));
  const rd = t.node.ready();
  assert.throws(() => t.node.tick(), InvariantError);
  assert.throws(() => t.node.step(voteReq("c", "b", 2)), InvariantError);
  assert.throws(() => t.node.propose(new Uint8Array([1])), InvariantError);
  t.node.advance(rd);
  assert.throws(() => t.node.advance(rd), InvariantError);
});

// ---------------------------------------------------------------- elections

test("§5.4.1 a vote is not granted to a candidate whose log is behind (lower last term)", () => {
  const t = newNode("b", VOTERS, { entries: entriesWithTerms([1, 2]), hardState: { term: 2 } });
  const rd = stepAndReady(t, voteReq("a", "b", 3, 5, 1));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, true);
  assert.equal(t.node.status().vote, "");
  assert.equal(t.node.status().term, 3, "the higher term is still adopted");
});

test("§5.4.1 a vote is not granted to a candidate with the same last term but a shorter log", () => {
  const t = newNode("b", VOTERS, { entries: entriesWithTerms([1, 2, 2]), hardState: { term: 2 } });
  const rd = stepAndReady(t, voteReq("a", "b", 3, 2, 2));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, true);
});

test("§5.4.1 a vote is granted to a shorter log with a later last term", () => {
  const t = newNode("b", VOTERS, { entries: entriesWithTerms([1, 1, 1, 1]), hardState: { term: 2 } });
  const rd = stepAndReady(t, voteReq("a", "b", 3, 2, 2));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, false);
  assert.equal(t.node.status().vote, "a");
});

test("§5.2 one vote per term: a second candidate of the same term is refused, the same one is granted again", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, voteReq("a", "b", 4));
  const other = stepAndReady(t, voteReq("c", "b", 4));
  assert.equal(responses(other, MessageType.VoteResp)[0]?.reject, true);
  const repeat = stepAndReady(t, voteReq("a", "b", 4));
  assert.equal(
    responses(repeat, MessageType.VoteResp)[0]?.reject,
    false,
    "a retried request is answered again",
  );
});

test("§5.1 the vote is reset on a new term: a node that voted in term 4 can vote for another node in term 5", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, voteReq("a", "b", 4));
  assert.equal(t.node.status().vote, "a");
  const rd = stepAndReady(t, voteReq("c", "b", 5));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, false);
  assert.deepEqual(rd.hardState, { term: 5, vote: "c", commit: 0 });
});

test("§5.1 a request from a stale term is rejected and does not change the term", () => {
  const t = newNode("b", VOTERS, { hardState: { term: 6 } });
  const rd = stepAndReady(t, voteReq("a", "b", 5));
  assert.equal(t.node.status().term, 6);
  assert.equal(rd.hardState, undefined);
  assert.ok(!rd.messages.some((m) => m.type === MessageType.VoteResp && !m.reject));
});

test("§9.6 a pre-candidate does not change its term or vote", () => {
  const t = newNode("a", VOTERS, { hardState: { term: 3, vote: "c" } });
  const pre = tickUntil(t, MessageType.PreVote);
  assert.equal(pre.length, 2);
  for (const m of pre) assert.equal(m.term, 4, "pre-votes ask for the next term");
  assert.equal(t.node.status().term, 3);
  assert.equal(t.node.status().role, "precandidate");
  assert.deepEqual(t.storage.hardState, { term: 3, vote: "c", commit: 0 });
});

test("§9.6 granting a pre-vote does not change the voter's term or vote", () => {
  const t = newNode("b", VOTERS, { hardState: { term: 2, vote: "c" } });
  const rd = stepAndReady(t, msg({ type: MessageType.PreVote, from: "a", to: "b", term: 3 }));
  const [resp] = responses(rd, MessageType.PreVoteResp);
  assert.equal(resp?.reject, false);
  assert.equal(resp?.term, 3, "the grant carries the term asked for");
  assert.equal(rd.hardState, undefined);
  assert.deepEqual([t.node.status().term, t.node.status().vote], [2, "c"]);
});

test("§9.6 a pre-vote is refused to a log that is behind", () => {
  const t = newNode("b", VOTERS, { entries: entriesWithTerms([2]), hardState: { term: 2 } });
  const rd = stepAndReady(
    t,
    msg({ type: MessageType.PreVote, from: "a", to: "b", term: 3, index: 5, logTerm: 1 }),
  );
  assert.equal(responses(rd, MessageType.PreVoteResp)[0]?.reject, true);
  assert.equal(t.node.status().term, 2);
});

test("§9.6 a pre-candidate becomes a candidate (term + 1) only after a majority of pre-votes", () => {
  const t = newNode("a", VOTERS, { hardState: { term: 3 } });
  tickUntil(t, MessageType.PreVote);
  t.node.step(msg({ type: MessageType.PreVoteResp, from: "b", to: "a", term: 4 }));
  const rd = t.node.ready();
  t.storage.hardState = { ...rd.hardState! };
  t.node.advance(rd);
  assert.equal(t.node.status().role, "candidate");
  assert.deepEqual(rd.hardState, { term: 4, vote: "a", commit: 0 });
  assert.equal(responses(rd, MessageType.Vote).length, 2);
});

test("§9.6 a pre-candidate whose pre-vote is refused by a majority returns to follower in its old term", () => {
  const t = newNode("a", VOTERS, { hardState: { term: 3 } });
  tickUntil(t, MessageType.PreVote);
  t.node.step(msg({ type: MessageType.PreVoteResp, from: "b", to: "a", term: 3, reject: true }));
  t.node.step(msg({ type: MessageType.PreVoteResp, from: "c", to: "a", term: 3, reject: true }));
  drain(t);
  assert.equal(t.node.status().role, "follower");
  assert.equal(t.node.status().term, 3);
});

test("§4.2.3 check-quorum lease: a follower that hears from its leader ignores vote requests of a higher term", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "a", to: "b", term: 2 }));
  assert.equal(t.node.status().leaderId, "a");
  t.node.step(voteReq("c", "b", 3, 10, 2));
  t.node.step(msg({ type: MessageType.PreVote, from: "c", to: "b", term: 3, index: 10, logTerm: 2 }));
  assert.equal(t.node.hasReady(), false, "no answer, no state change");
  assert.equal(t.node.status().term, 2);
  assert.equal(t.node.status().leaderId, "a");
});

test("§3.10 a forced vote request (leadership transfer) bypasses the lease", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "a", to: "b", term: 2 }));
  const rd = stepAndReady(t, msg({ type: MessageType.Vote, from: "c", to: "b", term: 3, force: true }));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, false);
  assert.equal(t.node.status().term, 3);
});

test("§4.2.3 once the lease expires (an election timeout without the leader) the vote is granted", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "a", to: "b", term: 2 }));
  // Ten ticks without a: the lease is over (b may have started a pre-vote, which changes neither term nor vote).
  for (let i = 0; i < 10; i++) t.node.tick();
  drain(t);
  const rd = stepAndReady(t, voteReq("c", "b", 3));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, false);
});

test("without check-quorum there is no lease: a higher-term vote is answered at once", () => {
  const t = newNode("b", VOTERS, { checkQuorum: false });
  stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "a", to: "b", term: 2 }));
  const rd = stepAndReady(t, voteReq("c", "b", 3));
  assert.equal(responses(rd, MessageType.VoteResp)[0]?.reject, false);
});

test("§5.2 a candidate that hears from a leader of its term becomes its follower", () => {
  const t = newNode("a", VOTERS, { preVote: false });
  const [vote] = tickUntil(t, MessageType.Vote);
  const rd = stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "b", to: "a", term: vote!.term }));
  assert.equal(t.node.status().role, "follower");
  assert.equal(t.node.status().leaderId, "b");
  assert.equal(rd.softState?.role, "follower");
});

test("§5.2 a leader elected with a majority appends a no-op of its term and replicates it", () => {
  const t = newNode("a", VOTERS);
  const [pre] = tickUntil(t, MessageType.PreVote);
  t.node.step(msg({ type: MessageType.PreVoteResp, from: "b", to: "a", term: pre!.term }));
  drain(t);
  t.node.step(msg({ type: MessageType.VoteResp, from: "c", to: "a", term: pre!.term }));
  const rd = t.node.ready();
  assert.equal(rd.softState?.role, "leader");
  assert.equal(rd.entries.length, 1);
  assert.equal(rd.entries[0]?.type, EntryType.Normal);
  assert.equal(rd.entries[0]?.data.length, 0);
  assert.equal(rd.entries[0]?.term, pre!.term);
  assert.deepEqual(
    responses(rd, MessageType.App)
      .map((m) => m.to)
      .sort(),
    ["b", "c"],
  );
  t.node.advance(rd);
});

test("§5.1 a leader that sees a higher term steps down", () => {
  const t = committedLeaderA();
  stepAndReady(t, msg({ type: MessageType.AppResp, from: "c", to: "a", term: t.term + 1 }));
  assert.equal(t.node.status().role, "follower");
  assert.equal(t.node.status().term, t.term + 1);
});

test("§5.1 a stale leader's append is answered with the newer term", () => {
  const t = newNode("b", VOTERS, { hardState: { term: 7 } });
  const rd = stepAndReady(t, msg({ type: MessageType.App, from: "a", to: "b", term: 6 }));
  const [resp] = responses(rd, MessageType.AppResp);
  assert.equal(resp?.term, 7);
  assert.equal(t.node.status().leaderId, "");
});

// -------------------------------------------------------------- replication

test("§5.3 a follower rejects an append whose previous entry it lacks, with a hint to back up", () => {
  const t = newNode("b", VOTERS, { entries: entriesWithTerms([1, 1, 2, 2]), hardState: { term: 3 } });
  const rd = stepAndReady(
    t,
    msg({ type: MessageType.App, from: "a", to: "b", term: 3, index: 10, logTerm: 3 }),
  );
  const [resp] = responses(rd, MessageType.AppResp);
  assert.equal(resp?.reject, true);
  assert.equal(resp?.index, 10);
  assert.equal(resp?.rejectHint, 4);
  assert.equal(resp?.logTerm, 2);
});

test("§5.3 a conflicting suffix is replaced; a duplicate or reordered append never truncates newer entries", () => {
  const t = newNode("b", VOTERS, { entries: entriesWithTerms([1, 1, 1, 1]), hardState: { term: 2 } });
  stepAndReady(
    t,
    msg({
      type: MessageType.App,
      from: "a",
      to: "b",
      term: 2,
      index: 1,
      logTerm: 1,
      entries: entriesWithTerms([2, 2, 2], 2),
    }),
  );
  assert.equal(t.node.status().lastIndex, 4);
  assert.equal(t.node.raft.log.term(2), 2);
  // A stale copy of an earlier message that carried only index 2.
  const rd = stepAndReady(
    t,
    msg({
      type: MessageType.App,
      from: "a",
      to: "b",
      term: 2,
      index: 1,
      logTerm: 1,
      entries: entriesWithTerms([2], 2),
    }),
  );
  assert.equal(t.node.status().lastIndex, 4);
  assert.equal(rd.entries.length, 0);
  assert.equal(responses(rd, MessageType.AppResp)[0]?.index, 2);
});

test("§5.3 committed entries never exceed the commit index (or what the append proved to match)", () => {
  const t = newNode("b", VOTERS);
  const rd = stepAndReady(
    t,
    msg({
      type: MessageType.App,
      from: "a",
      to: "b",
      term: 1,
      entries: entriesWithTerms([1, 1, 1, 1, 1]),
      commit: 3,
    }),
  );
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [1, 2, 3],
  );
  assert.equal(t.node.status().commitIndex, 3);
  // The leader's commit index is beyond what this message shows to match: commit only up to its last entry.
  const t2 = newNode("b", VOTERS);
  const rd2 = stepAndReady(
    t2,
    msg({
      type: MessageType.App,
      from: "a",
      to: "b",
      term: 1,
      entries: entriesWithTerms([1, 1]),
      commit: 10,
    }),
  );
  assert.equal(t2.node.status().commitIndex, 2);
  assert.ok(rd2.committedEntries.every((e) => e.index <= 2));
});

test("an append below the follower's commit index is answered with the commit index", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(
    t,
    msg({
      type: MessageType.App,
      from: "a",
      to: "b",
      term: 1,
      entries: entriesWithTerms([1, 1, 1]),
      commit: 3,
    }),
  );
  const rd = stepAndReady(
    t,
    msg({ type: MessageType.App, from: "a", to: "b", term: 1, index: 1, logTerm: 1 }),
  );
  const [resp] = responses(rd, MessageType.AppResp);
  assert.equal(resp?.reject, false);
  assert.equal(resp?.index, 3);
});

test("§5.4.2 a leader does not commit an entry of an earlier term by counting replicas", () => {
  // a holds entries of term 1 at 1..2 that nobody has acknowledged committing.
  const t = newNode("a", VOTERS, { entries: entriesWithTerms([1, 1]), hardState: { term: 1 } });
  const term = electA(t);
  assert.equal(t.node.status().lastIndex, 3);
  // b confirms the old entries only: a majority holds them, yet they are not committed.
  stepAndReady(t, msg({ type: MessageType.AppResp, from: "b", to: "a", term, index: 2 }));
  assert.equal(t.node.status().commitIndex, 0);
  // Once the no-op of the leader's term is on a majority, everything before it commits.
  const rd = stepAndReady(t, msg({ type: MessageType.AppResp, from: "b", to: "a", term, index: 3 }));
  assert.equal(t.node.status().commitIndex, 3);
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [1, 2, 3],
  );
});

test("§6.2 a leader without contact from a majority for an election timeout steps down (check-quorum)", () => {
  const t = committedLeaderA();
  for (let i = 0; i < 25 && t.node.status().role === "leader"; i++) {
    t.node.tick();
    drain(t);
  }
  assert.equal(t.node.status().role, "follower");
  assert.equal(t.node.status().term, t.term, "stepping down does not change the term");
});

// ------------------------------------------------------------ client requests

test("§6.2 a follower forwards proposals to its leader as Prop messages", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "a", to: "b", term: 1 }));
  const r = t.node.propose(new TextEncoder().encode("x"));
  assert.deepEqual(r, { ok: true });
  const rd = t.node.ready();
  const [prop] = responses(rd, MessageType.Prop);
  assert.equal(prop?.to, "a");
  assert.equal(prop?.entries.length, 1);
  assert.equal(new TextDecoder().decode(prop?.entries[0]?.data), "x");
  assert.equal(rd.entries.length, 0, "the follower does not append it itself");
  t.node.advance(rd);
});

test("propose() without a known leader is refused with no_leader", () => {
  const t = newNode("b", VOTERS);
  assert.deepEqual(t.node.propose(new Uint8Array([1])), { ok: false, reason: "no_leader", leaderId: "" });
  assert.deepEqual(t.node.readIndex("r1"), { ok: false, reason: "no_leader", leaderId: "" });
  assert.equal(t.node.hasReady(), false);
});

test("with forwarding disabled a follower refuses proposals with not_leader and names the leader", () => {
  const t = newNode("b", VOTERS, { disableProposalForwarding: true });
  stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "a", to: "b", term: 1 }));
  assert.deepEqual(t.node.propose(new Uint8Array([1])), { ok: false, reason: "not_leader", leaderId: "a" });
});

test("a leader accepts proposals forwarded by followers", () => {
  const t = committedLeaderA();
  const before = t.node.status().lastIndex;
  const entry = { index: 0, term: 0, type: EntryType.Normal, data: new Uint8Array([7]) };
  t.node.step(msg({ type: MessageType.Prop, from: "b", to: "a", entries: [entry] }));
  const rd = t.node.ready();
  assert.equal(rd.entries.length, 1);
  assert.equal(rd.entries[0]?.index, before + 1);
  assert.equal(rd.entries[0]?.term, t.term);
  t.node.advance(rd);
});

test("§3.10 during a leadership transfer proposals are refused with transferring", () => {
  const t = committedLeaderA();
  // c has not acknowledged anything, so the leader must catch it up before sending TimeoutNow.
  t.node.transferLeadership("c");
  const rd = nextReady(t);
  assert.equal(responses(rd, MessageType.TimeoutNow).length, 0);
  assert.equal(t.node.status().leadTransferee, "c");
  assert.deepEqual(t.node.propose(new Uint8Array([1])), { ok: false, reason: "transferring", leaderId: "a" });
  const last = t.node.status().lastIndex;
  // Forwarded proposals are dropped as well.
  t.node.step(
    msg({
      type: MessageType.Prop,
      from: "b",
      to: "a",
      entries: [{ index: 0, term: 0, type: 0, data: new Uint8Array([2]) }],
    }),
  );
  drain(t);
  assert.equal(t.node.status().lastIndex, last);
});

test("§3.10 the transferee gets TimeoutNow once caught up; an unfinished transfer is abandoned after an election timeout", () => {
  const t = committedLeaderA();
  t.node.transferLeadership("c");
  drain(t);
  const last = t.node.status().lastIndex;
  const rd = stepAndReady(
    t,
    msg({ type: MessageType.AppResp, from: "c", to: "a", term: t.term, index: last }),
  );
  assert.equal(responses(rd, MessageType.TimeoutNow)[0]?.to, "c");
  // c never campaigns: within an election timeout the leader gives up and accepts proposals again.
  for (let i = 0; i < 10; i++) {
    t.node.step(msg({ type: MessageType.HeartbeatResp, from: "b", to: "a", term: t.term }));
    t.node.tick();
    drain(t);
  }
  assert.equal(t.node.status().role, "leader");
  assert.equal(t.node.status().leadTransferee, "");
  assert.equal(t.node.propose(new Uint8Array([1])).ok, true);
});

test("§3.10 a follower that receives TimeoutNow campaigns at once, skipping pre-vote, with a forced vote", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "a", to: "b", term: 2 }));
  const rd = stepAndReady(t, msg({ type: MessageType.TimeoutNow, from: "a", to: "b", term: 2 }));
  const votes = responses(rd, MessageType.Vote);
  assert.equal(votes.length, 2);
  assert.ok(votes.every((m) => m.force && m.term === 3));
  assert.equal(t.node.status().role, "candidate");
});

test("§4.1 a conf change is refused while another is uncommitted (conf_change_pending)", () => {
  const t = committedLeaderA();
  assert.deepEqual(t.node.proposeConfChange({ type: "addLearner", nodeId: "d" }), { ok: true });
  drain(t);
  assert.deepEqual(t.node.status().conf.learners, ["d"], "a configuration applies once in the log");
  assert.deepEqual(t.node.proposeConfChange({ type: "addLearner", nodeId: "e" }), {
    ok: false,
    reason: "conf_change_pending",
    leaderId: "a",
  });
  // Once b acknowledges it, the change is committed and the next one may go.
  t.node.step(
    msg({ type: MessageType.AppResp, from: "b", to: "a", term: t.term, index: t.node.status().lastIndex }),
  );
  drain(t);
  assert.deepEqual(t.node.proposeConfChange({ type: "addLearner", nodeId: "e" }), { ok: true });
});

test("§4.1 a new leader refuses conf changes until it has committed an entry of its term (not_committed_in_term)", () => {
  const t = newNode("a", VOTERS);
  electA(t);
  assert.deepEqual(t.node.proposeConfChange({ type: "addLearner", nodeId: "d" }), {
    ok: false,
    reason: "not_committed_in_term",
    leaderId: "a",
  });
  assert.equal(t.node.propose(new Uint8Array([1])).ok, true, "ordinary proposals are accepted meanwhile");
});

test("an invalid conf change is refused with invalid_conf_change", () => {
  const t = committedLeaderA();
  assert.deepEqual(t.node.proposeConfChange({ type: "addVoter", nodeId: "b" }), {
    ok: false,
    reason: "invalid_conf_change",
    leaderId: "a",
  });
});

test("§6.4 ReadIndex: a new leader answers reads only after committing in its term and hearing from a majority", () => {
  const t = newNode("a", VOTERS);
  const term = electA(t);
  assert.equal(t.node.readIndex("r1").ok, true);
  const early = drain(t);
  assert.ok(
    early.every((rd) => rd.readStates.length === 0 && responses(rd, MessageType.Heartbeat).length === 0),
  );
  // The no-op commits; the pending read now asks the followers to confirm leadership.
  const last = t.node.status().lastIndex;
  const rd = stepAndReady(t, msg({ type: MessageType.AppResp, from: "b", to: "a", term, index: last }));
  const hbs = responses(rd, MessageType.Heartbeat).filter((m) => m.context === "r1");
  assert.equal(hbs.length, 2);
  assert.equal(rd.readStates.length, 0);
  const done = stepAndReady(
    t,
    msg({ type: MessageType.HeartbeatResp, from: "c", to: "a", term, context: "r1" }),
  );
  assert.deepEqual(done.readStates, [{ context: "r1", index: last }]);
});

test("§6.4 ReadIndex on a follower is forwarded to the leader and the answer becomes a read state", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, msg({ type: MessageType.Heartbeat, from: "a", to: "b", term: 1 }));
  t.node.readIndex("r9");
  const rd = t.node.ready();
  t.node.advance(rd);
  assert.equal(responses(rd, MessageType.ReadIndex)[0]?.to, "a");
  const ans = stepAndReady(
    t,
    msg({ type: MessageType.ReadIndexResp, from: "a", to: "b", term: 1, context: "r9", index: 4 }),
  );
  assert.deepEqual(ans.readStates, [{ context: "r9", index: 4 }]);
});

test("a single-voter cluster elects itself and commits on its own append", () => {
  const t = newNode("a", ["a"]);
  for (let i = 0; i < 30 && t.node.status().role !== "leader"; i++) {
    t.node.tick();
    drain(t);
  }
  assert.equal(t.node.status().role, "leader");
  t.node.propose(new Uint8Array([1]));
  const rd = nextReady(t);
  assert.equal(rd.committedEntries.at(-1)?.index, t.node.status().lastIndex);
  t.node.readIndex("solo");
  assert.deepEqual(nextReady(t).readStates, [{ context: "solo", index: t.node.status().commitIndex }]);
});

test("a learner never campaigns", () => {
  const t = newNode("d", VOTERS, { learners: ["d"] });
  assert.equal(t.node.role(), "learner");
  for (let i = 0; i < 100; i++) {
    t.node.tick();
    assert.equal(drainMessages(t).length, 0);
  }
  assert.equal(t.node.status().term, 0);
});

// ------------------------------------------------------------ configuration

test("§4.1 a configuration takes effect when appended and is rolled back when its entry is truncated", () => {
  const t = newNode("b", VOTERS);
  const conf = { voters: ["a", "b", "c"], learners: ["d"] };
  const confEntry = { index: 2, term: 1, type: EntryType.Conf, data: new Uint8Array(), conf };
  stepAndReady(
    t,
    msg({
      type: MessageType.App,
      from: "a",
      to: "b",
      term: 1,
      entries: [...entriesWithTerms([1]), confEntry],
      commit: 1,
    }),
  );
  assert.deepEqual(t.node.status().conf, conf, "in force as soon as it is in the log");
  // A new leader of term 2 never had it: its entry at index 2 replaces the uncommitted change.
  stepAndReady(
    t,
    msg({
      type: MessageType.App,
      from: "c",
      to: "b",
      term: 2,
      index: 1,
      logTerm: 1,
      entries: entriesWithTerms([2], 2),
    }),
  );
  assert.deepEqual(t.node.status().conf, { voters: ["a", "b", "c"], learners: [] });
});

test("§4.1 a restarted node replays the configurations in its log", () => {
  const conf = { voters: ["a", "b", "c", "d"], learners: [] };
  const ents = [
    ...entriesWithTerms([1]),
    { index: 2, term: 1, type: EntryType.Conf, data: new Uint8Array(), conf },
  ];
  const t = newNode("b", VOTERS, { entries: ents, hardState: { term: 1, commit: 2 } });
  assert.deepEqual(t.node.status().conf, conf);
});

test("§4.1 a leader accepts at most one membership change from a forwarded batch of proposals", () => {
  const t = committedLeaderA();
  const change = (nodeId: string) => ({
    index: 0,
    term: 0,
    type: EntryType.Conf,
    data: new Uint8Array(),
    change: { type: "addLearner" as const, nodeId },
  });
  t.node.step(msg({ type: MessageType.Prop, from: "b", to: "a", entries: [change("d"), change("e")] }));
  const rd = t.node.ready();
  t.node.advance(rd);
  const confs = rd.entries.filter((e) => e.type === EntryType.Conf);
  assert.ok(confs.length <= 1, `${confs.length} uncommitted membership changes appended at once`);
  assert.ok(confs.every((e) => e.conf?.learners.length === 1));
});

test("flow control: past maxUncommittedEntries the leader refuses proposals with overloaded", () => {
  const t = newNode("a", VOTERS, { maxUncommittedEntries: 3 });
  electA(t);
  // The no-op is the first uncommitted entry.
  assert.equal(t.node.propose(new Uint8Array([1])).ok, true);
  assert.equal(t.node.propose(new Uint8Array([2])).ok, true);
  assert.deepEqual(t.node.propose(new Uint8Array([3])), { ok: false, reason: "overloaded", leaderId: "a" });
});

test("a Ready hands out committed entries within maxCommittedSizePerReady; the rest follow in later Readies", () => {
  const t = newNode("b", VOTERS, { maxCommittedSizePerReady: 1 });
  const first = stepAndReady(
    t,
    msg({
      type: MessageType.App,
      from: "a",
      to: "b",
      term: 1,
      entries: entriesWithTerms([1, 1, 1]),
      commit: 3,
    }),
  );
  assert.equal(first.committedEntries.length, 1);
  const applied = [...first.committedEntries, ...drain(t).flatMap((rd) => rd.committedEntries)];
  assert.deepEqual(
    applied.map((e) => e.index),
    [1, 2, 3],
  );
});

test("§5.3 fast backtracking: the leader skips a whole conflicting term per rejection", () => {
  // Leader log terms by index 1..10: 1 1 1 4 4 5 5 6 6 6; follower: 1 1 1 4 4 4 4.
  const t = newNode("a", VOTERS, {
    entries: entriesWithTerms([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]),
    hardState: { term: 6 },
  });
  const term = electA(t);
  const follower = newNode("c", VOTERS, {
    entries: entriesWithTerms([1, 1, 1, 4, 4, 4, 4]),
    hardState: { term: 6 },
  });
  // Relay messages between the leader and c only, counting c's rejections.
  let rejections = 0;
  // The first append went nowhere; c's heartbeat reply makes the leader probe again.
  t.node.step(msg({ type: MessageType.HeartbeatResp, from: "c", to: "a", term }));
  let toC = drainMessages(t).filter((m) => m.to === "c" && m.type === MessageType.App);
  for (let round = 0; round < 10 && toC.length > 0; round++) {
    for (const m of toC) follower.node.step(m);
    const back = drainMessages(follower).filter((m) => m.type === MessageType.AppResp);
    rejections += back.filter((m) => m.reject).length;
    for (const m of back) t.node.step(m);
    toC = drainMessages(t).filter((m) => m.to === "c" && m.type === MessageType.App && m.entries.length > 0);
  }
  assert.equal(follower.node.status().lastIndex, 11);
  assert.equal(follower.node.raft.log.term(6), 5);
  assert.equal(follower.node.raft.log.term(11), term);
  assert.equal(rejections, 1, "one rejection finds index 5, the last entry of term 4 both logs share");
});

// ---------------------------------------------------------------- snapshots

const snapMeta = { index: 20, term: 3, conf: { voters: ["a", "b", "c"], learners: [] }, size: 6 };

function chunk(offset: number, bytes: number[], meta = snapMeta): Message {
  return msg({
    type: MessageType.Snap,
    from: "a",
    to: "b",
    term: 3,
    snapshot: meta,
    snapshotOffset: offset,
    snapshotData: new Uint8Array(bytes),
  });
}

test("§7 persistence: the Ready completing a snapshot install carries the snapshot (mustSync) with its AppResp", () => {
  const t = newNode("b", VOTERS);
  const first = stepAndReady(t, chunk(0, [1, 2, 3]));
  assert.equal(first.snapshot, undefined);
  assert.deepEqual(
    first.snapshotChunks.map((c) => [c.offset, c.last]),
    [[0, false]],
  );
  assert.equal(responses(first, MessageType.SnapResp)[0]?.snapshotOffset, 3);
  assert.equal(
    responses(first, MessageType.AppResp).length,
    0,
    "nothing is acknowledged before the last chunk",
  );
  t.node.step(chunk(3, [4, 5, 6]));
  const rd = t.node.ready();
  assert.deepEqual(rd.snapshot, snapMeta);
  assert.equal(rd.mustSync, true);
  assert.deepEqual(
    rd.snapshotChunks.map((c) => [c.offset, c.last]),
    [[3, true]],
  );
  const [ack] = responses(rd, MessageType.AppResp);
  assert.equal(ack?.index, 20);
  assert.equal(rd.committedEntries.length, 0, "nothing from the old log is applied over a snapshot");
  t.storage.applySnapshot(rd.snapshot!, new Uint8Array([1, 2, 3, 4, 5, 6]));
  t.node.advance(rd);
  assert.deepEqual(
    [t.node.status().commitIndex, t.node.status().appliedIndex, t.node.status().firstIndex],
    [20, 20, 21],
  );
});

test("§7 a snapshot chunk out of order is refused with the offset expected next", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(t, chunk(0, [1, 2]));
  const rd = stepAndReady(t, chunk(4, [5, 6]));
  const [resp] = responses(rd, MessageType.SnapResp);
  assert.equal(resp?.reject, true);
  assert.equal(resp?.snapshotOffset, 2);
  assert.equal(rd.snapshotChunks.length, 0);
  // A restarted receiver has lost its staged chunks: it asks to start over.
  const fresh = newNode("b", VOTERS);
  const again = stepAndReady(fresh, chunk(2, [3, 4]));
  assert.equal(responses(again, MessageType.SnapResp)[0]?.snapshotOffset, 0);
});

test("§7 a snapshot the follower already covers is answered with its commit index and not installed", () => {
  const t = newNode("b", VOTERS);
  stepAndReady(
    t,
    msg({
      type: MessageType.App,
      from: "a",
      to: "b",
      term: 3,
      entries: entriesWithTerms([1, 1, 2, 3, 3]),
      commit: 5,
    }),
  );
  const rd = stepAndReady(t, chunk(0, [1, 2, 3], { ...snapMeta, index: 4 }));
  assert.equal(rd.snapshot, undefined);
  assert.equal(rd.snapshotChunks.length, 0);
  assert.equal(responses(rd, MessageType.AppResp)[0]?.index, 5);
});
