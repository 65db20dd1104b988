import assert from "node:assert/strict";
import { test } from "node:test";
import { confEquals } from "../../src/raft/conf-change.js";
import { applyConfChange, type ConfState, isMember, isVoter } from "../../src/raft/index.js";

const base: ConfState = { voters: ["a", "b", "c"], learners: ["l"] };

test("§4.2.1 addLearner adds a new non-voting member", () => {
  assert.deepEqual(applyConfChange(base, { type: "addLearner", nodeId: "m" }), {
    voters: ["a", "b", "c"],
    learners: ["l", "m"],
  });
});

test("addLearner of an existing voter or learner is invalid", () => {
  assert.equal(applyConfChange(base, { type: "addLearner", nodeId: "a" }), undefined);
  assert.equal(applyConfChange(base, { type: "addLearner", nodeId: "l" }), undefined);
});

test("§4.1 addVoter adds one voter, promoting a learner", () => {
  assert.deepEqual(applyConfChange(base, { type: "addVoter", nodeId: "l" }), {
    voters: ["a", "b", "c", "l"],
    learners: [],
  });
  assert.deepEqual(applyConfChange(base, { type: "addVoter", nodeId: "d" }), {
    voters: ["a", "b", "c", "d"],
    learners: ["l"],
  });
});

test("addVoter of an existing voter is invalid", () => {
  assert.equal(applyConfChange(base, { type: "addVoter", nodeId: "b" }), undefined);
});

test("§4.1 removeNode removes one voter or learner", () => {
  assert.deepEqual(applyConfChange(base, { type: "removeNode", nodeId: "b" }), {
    voters: ["a", "c"],
    learners: ["l"],
  });
  assert.deepEqual(applyConfChange(base, { type: "removeNode", nodeId: "l" }), {
    voters: ["a", "b", "c"],
    learners: [],
  });
});

test("removeNode of a non-member or of the last voter is invalid", () => {
  assert.equal(applyConfChange(base, { type: "removeNode", nodeId: "zz" }), undefined);
  assert.equal(
    applyConfChange({ voters: ["a"], learners: ["l"] }, { type: "removeNode", nodeId: "a" }),
    undefined,
  );
});

test("a change without a node id, or of an unknown type, is invalid", () => {
  assert.equal(applyConfChange(base, { type: "addVoter", nodeId: "" }), undefined);
  assert.equal(applyConfChange(base, { type: "bogus" as "addVoter", nodeId: "d" }), undefined);
});

test("applyConfChange returns sorted lists and never mutates its input", () => {
  const conf: ConfState = { voters: ["c", "a"], learners: [] };
  const out = applyConfChange(conf, { type: "addVoter", nodeId: "b" });
  assert.deepEqual(out, { voters: ["a", "b", "c"], learners: [] });
  assert.deepEqual(conf, { voters: ["c", "a"], learners: [] });
});

test("isVoter / isMember distinguish voters, learners and strangers", () => {
  assert.equal(isVoter(base, "a"), true);
  assert.equal(isVoter(base, "l"), false);
  assert.equal(isMember(base, "l"), true);
  assert.equal(isMember(base, "x"), false);
});

test("confEquals ignores order and tells voters from learners", () => {
  assert.equal(confEquals({ voters: ["b", "a"], learners: [] }, { voters: ["a", "b"], learners: [] }), true);
  assert.equal(confEquals({ voters: ["a"], learners: ["b"] }, { voters: ["a", "b"], learners: [] }), false);
  assert.equal(confEquals({ voters: ["a"], learners: [] }, { voters: ["a", "a"], learners: [] }), false);
});
