import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  applyConfChange,
  checkConfChange,
  committedIndex,
  decodeConfChange,
  encodeConfChange,
  voteResult,
  type ConfChange,
  type ConfState,
} from '../../src/raft/index.js';
import { mulberry32 } from '../sim/raft-cluster.js';

/** The naive twin: the largest index acknowledged by more than half the voters, by trying every candidate. */
function naiveCommitted(voters: number[], acked: Map<number, number>): number {
  let best = 0;
  for (const v of voters) {
    const idx = acked.get(v) ?? 0;
    const count = voters.filter((w) => (acked.get(w) ?? 0) >= idx).length;
    if (count * 2 > voters.length && idx > best) best = idx;
  }
  return best;
}

function naiveVote(voters: number[], votes: Map<number, boolean>): 'won' | 'lost' | 'pending' {
  const yes = voters.filter((v) => votes.get(v) === true).length;
  const no = voters.filter((v) => votes.get(v) === false).length;
  const undecided = voters.length - yes - no;
  if (yes * 2 > voters.length) return 'won';
  if ((yes + undecided) * 2 <= voters.length) return 'lost';
  return 'pending';
}

describe('raft quorum arithmetic', () => {
  test('committedIndex agrees with a naive twin on 20,000 random configurations', () => {
    const rnd = mulberry32(2024);
    for (let k = 0; k < 20000; k++) {
      const n = 1 + Math.floor(rnd() * 7);
      const voters = Array.from({ length: n }, (_, i) => i + 1);
      const acked = new Map<number, number>();
      for (const v of voters) if (rnd() < 0.9) acked.set(v, Math.floor(rnd() * 10));
      // Acks from non-voters must not count.
      acked.set(99, 1000);
      assert.equal(
        committedIndex(voters, (id) => acked.get(id) ?? 0),
        naiveCommitted(voters, acked),
        JSON.stringify([...acked]),
      );
    }
  });

  test('voteResult agrees with a naive twin on 20,000 random elections', () => {
    const rnd = mulberry32(7);
    for (let k = 0; k < 20000; k++) {
      const n = 1 + Math.floor(rnd() * 7);
      const voters = Array.from({ length: n }, (_, i) => i + 1);
      const votes = new Map<number, boolean>();
      for (const v of [...voters, 50, 51]) {
        const r = rnd();
        if (r < 0.4) votes.set(v, true);
        else if (r < 0.7) votes.set(v, false);
      }
      assert.equal(voteResult(voters, votes), naiveVote(voters, votes));
    }
  });

  test('an empty voter set commits nothing', () => {
    assert.equal(
      committedIndex([], () => 5),
      0,
    );
  });
});

describe('raft membership changes (pure)', () => {
  test('conf changes round-trip through entry data, context included', () => {
    const cases: ConfChange[] = [
      { type: 'addNode', nodeId: 1 },
      { type: 'removeNode', nodeId: 2 ** 40 + 3 },
      { type: 'addLearner', nodeId: 7, context: new TextEncoder().encode('server.7=127.0.0.1:2888:3888') },
    ];
    for (const cc of cases) assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
  });

  test('one node at a time: add, promote, demote, remove', () => {
    let conf: ConfState = { voters: [1, 2, 3], learners: [] };
    conf = applyConfChange(conf, { type: 'addLearner', nodeId: 4 });
    assert.deepEqual(conf, { voters: [1, 2, 3], learners: [4] });
    conf = applyConfChange(conf, { type: 'addNode', nodeId: 4 });
    assert.deepEqual(conf, { voters: [1, 2, 3, 4], learners: [] });
    conf = applyConfChange(conf, { type: 'addLearner', nodeId: 1 });
    assert.deepEqual(conf, { voters: [2, 3, 4], learners: [1] });
    conf = applyConfChange(conf, { type: 'removeNode', nodeId: 1 });
    assert.deepEqual(conf, { voters: [2, 3, 4], learners: [] });
  });

  test('invalid changes are refused, and applying one changes nothing', () => {
    const conf = { voters: [1], learners: [2] };
    assert.match(checkConfChange(conf, { type: 'addNode', nodeId: 1 })!, /already a voter/);
    assert.match(checkConfChange(conf, { type: 'addLearner', nodeId: 2 })!, /already a learner/);
    assert.match(checkConfChange(conf, { type: 'removeNode', nodeId: 1 })!, /only voter/);
    assert.match(checkConfChange(conf, { type: 'addLearner', nodeId: 1 })!, /only voter/);
    assert.match(checkConfChange(conf, { type: 'removeNode', nodeId: 3 })!, /not a member/);
    assert.match(checkConfChange(conf, { type: 'addNode', nodeId: 0 })!, /positive integer/);
    assert.equal(applyConfChange(conf, { type: 'removeNode', nodeId: 3 }), conf);
  });
});
