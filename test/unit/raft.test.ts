import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { MemoryStorage, RaftInvariantError, RaftNode, type Message } from '../../src/raft/index.js';
import { TestCluster, craftedStorage, dec, enc, entriesWithTerms, mulberry32 } from '../sim/raft-cluster.js';

const CONF3 = { voters: [1, 2, 3], learners: [] };
const CONF5 = { voters: [1, 2, 3, 4, 5], learners: [] };

function logTerms(c: TestCluster, id: number): number[] {
  const s = c.node(id).status();
  const out: number[] = [];
  for (let i = 1; i <= s.lastIndex; i++) out.push(c.node(id).logTerm(i) ?? -1);
  return out;
}

describe('raft: elections', () => {
  test('a single voter elects itself and commits its no-op', () => {
    const c = new TestCluster([1]);
    c.campaign(1);
    const s = c.node(1).status();
    // Index 1 is the bootstrap configuration (term 1), index 2 the no-op.
    assert.equal(s.role, 'leader');
    assert.equal(s.term, 2);
    assert.equal(s.commit, 2);
    assert.equal(c.peer(1).appliedIndex, 2);
    assert.deepEqual(c.peer(1).storage.hardStateNow(), { term: 2, vote: 1, commit: 2 });
  });

  test('a campaign wins a majority; the others follow the leader', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    assert.equal(c.node(1).status().role, 'leader');
    for (const id of [2, 3]) {
      const s = c.node(id).status();
      assert.equal(s.role, 'follower');
      assert.equal(s.lead, 1);
      assert.equal(s.term, 2);
      assert.equal(s.vote, 1);
    }
  });

  test('election timeouts elect exactly one leader', () => {
    const c = new TestCluster([1, 2, 3, 4, 5], { seed: 42 });
    c.runUntil(() => c.leader() !== 0);
    const leaders = [...c.peers.values()].filter((p) => p.node.status().role === 'leader');
    assert.equal(leaders.length, 1);
  });

  test('a candidate whose log is behind is refused', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    c.propose(1, 'x');
    c.heal();
    c.isolate(1);
    c.campaign(3);
    assert.notEqual(c.node(3).status().role, 'leader');
    assert.equal(c.node(2).status().vote, 0, '2 moved to the new term without voting for 3');
  });

  test('a split vote is resolved by randomized timeouts', () => {
    const c = new TestCluster([1, 2, 3, 4], { seed: 7 });
    c.node(1).campaign();
    c.node(2).campaign();
    // 3 hears 1 first, 4 hears 2 first: 2 votes each, nobody has 3.
    c.processAllReady();
    const order = (m: Message): number => (m.to === 3 ? (m.from === 1 ? 0 : 1) : m.from === 2 ? 0 : 1);
    c.queue.sort((a, b) => order(a) - order(b));
    c.stabilize();
    // Two grants and two refusals of four: both lost, neither won.
    assert.equal(c.leader(), 0);
    assert.equal(c.node(1).status().term, 2);
    assert.equal(c.node(2).status().term, 2);
    c.runUntil(() => c.leader() !== 0);
    assert.ok(c.node(c.leader()).status().term >= 3);
  });

  test('a learner never campaigns', () => {
    const c = new TestCluster([1, 2, 3], {}, [4]);
    c.tick(4, 100);
    c.stabilize();
    assert.equal(c.node(4).status().role, 'follower');
    assert.equal(c.node(4).status().term, 1);
  });
});

describe('raft: replication', () => {
  test('a proposal commits and applies everywhere, in order', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    for (const v of ['a', 'b', 'c']) assert.equal(c.propose(1, v).ok, true);
    for (const id of [1, 2, 3]) assert.deepEqual(c.peer(id).values(), ['a', 'b', 'c']);
  });

  test('a follower refuses proposals and names the leader', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    const r = c.node(2).propose(enc('x'));
    assert.deepEqual(r, { ok: false, reason: 'not-leader', lead: 1 });
  });

  test('nothing commits without a quorum; it does once the quorum is back', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(2);
    c.isolate(3);
    const r = c.propose(1, 'x');
    assert.ok(r.ok);
    assert.equal(c.node(1).status().commit, c.base + 1);
    c.heal();
    c.runUntil(() => c.peer(3).values().length === 1);
    assert.deepEqual(c.peer(2).values(), ['x']);
  });

  // Raft paper figure 7: whatever the follower holds, it ends with the leader's log.
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, log] of Object.entries(followers)) {
    test(`figure 7 (${name}): a divergent follower log is repaired to the leader's`, () => {
      const c = new TestCluster([]);
      c.addPeer(1, craftedStorage(CONF3, leaderLog, 8));
      c.addPeer(2, craftedStorage(CONF3, log, 8));
      c.addPeer(3, craftedStorage(CONF3, leaderLog, 8));
      c.campaign(1);
      assert.equal(c.node(1).status().role, 'leader');
      const expected = [...leaderLog, 9];
      assert.deepEqual(logTerms(c, 2), expected);
      assert.equal(c.node(2).status().commit, 11);
      const rejections = c.delivered.filter((m) => m.type === 'MsgAppResp' && m.from === 2 && m.reject === true);
      assert.ok(rejections.length <= 2, `${rejections.length} rejections`);
    });
  }

  test('a long divergent tail is skipped in a few round trips (rejectHint and findConflictByTerm)', () => {
    const common = Array.from({ length: 5 }, () => 1);
    const leader = [...common, ...Array.from({ length: 100 }, () => 2)];
    const follower = [...common, ...Array.from({ length: 300 }, () => 3)];
    const c = new TestCluster([]);
    c.addPeer(1, craftedStorage(CONF3, leader, 4));
    c.addPeer(2, craftedStorage(CONF3, follower, 4));
    c.addPeer(3, craftedStorage(CONF3, leader, 4));
    c.campaign(1);
    assert.deepEqual(logTerms(c, 2), logTerms(c, 1));
    const rejections = c.delivered.filter((m) => m.type === 'MsgAppResp' && m.from === 2 && m.reject === true);
    assert.ok(rejections.length <= 3, `${rejections.length} rejections`);
  });

  test('pipelining stops at maxInflightMsgs and resumes on acks', () => {
    const c = new TestCluster([1, 2], { maxInflightMsgs: 2, maxSizePerMsg: 1 });
    c.campaign(1);
    for (let i = 0; i < 10; i++) c.node(1).propose(enc(`v${i}`));
    const sent = c.take((m) => m.type === 'MsgApp' && m.to === 2 && (m.entries?.length ?? 0) > 0);
    assert.equal(sent.length, 2);
    const pr = c.node(1).progress()!.get(2)!;
    assert.equal(pr.state, 'replicate');
    assert.equal(pr.inflight, 2);
    for (const m of sent) c.deliver(m);
    c.stabilize();
    assert.equal(c.peer(2).values().length, 10);
  });

  test('a throttled follower whose in-flight messages were all lost recovers on a heartbeat', () => {
    const c = new TestCluster([1, 2], { maxInflightMsgs: 1, maxSizePerMsg: 1 });
    c.campaign(1);
    for (let i = 0; i < 5; i++) c.node(1).propose(enc(`v${i}`));
    c.take((m) => m.type === 'MsgApp');
    c.stabilize();
    assert.equal(c.peer(2).values().length, 0);
    c.runUntil(() => c.peer(2).values().length === 5, 50);
  });

  test('maxUncommittedEntriesSize refuses proposals past the limit until the tail commits', () => {
    const c = new TestCluster([1, 2, 3], { maxUncommittedEntriesSize: 10 });
    c.campaign(1);
    c.isolate(1);
    assert.ok(c.node(1).propose(enc('123456')).ok);
    const r = c.node(1).propose(enc('123456'));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'too-large');
    c.heal();
    c.runUntil(() => c.node(1).status().commit === c.base + 2);
    assert.ok(c.node(1).propose(enc('123456')).ok);
  });
});

describe('raft: commit rules', () => {
  test('a leader does not commit an earlier term entry by counting replicas (figure 8)', () => {
    // (a)-(b): index 2 was written in term 2 by 1 on {1, 2}; 5 wrote its own
    // index 2 in term 3 and crashed. Now 1 leads term 4 and copies its index 2
    // to 3: a majority holds (2, term 2), and it must still not commit.
    const c = new TestCluster([]);
    c.addPeer(1, craftedStorage(CONF5, [1, 2], 3, 0, 1));
    c.addPeer(2, craftedStorage(CONF5, [1, 2], 3, 0, 1));
    c.addPeer(3, craftedStorage(CONF5, [1], 3, 0, 1));
    c.addPeer(4, craftedStorage(CONF5, [1], 3, 0, 1));
    c.addPeer(5, craftedStorage(CONF5, [1, 3], 3, 0, 1));
    c.crash(5);
    c.node(1).campaign();
    // Let 3 receive index 2 but not 1's term-4 no-op at index 3.
    const onlyIndex2 = (m: Message): Message | undefined => {
      if (m.type !== 'MsgApp' || m.from !== 1) return m;
      if (m.to !== 3) return undefined;
      const entries = (m.entries ?? []).filter((e) => e.index <= 2);
      return { ...m, entries };
    };
    c.stabilize(onlyIndex2);
    assert.equal(c.node(1).status().role, 'leader');
    assert.equal(c.node(1).status().term, 4);
    assert.equal(c.node(3).logTerm(2), 2);
    assert.equal(c.node(1).status().commit, 1, 'index 2 is on a majority but not committed');
    // (d): 1 crashes; 5 comes back and, with the higher last term, wins and
    // overwrites index 2 everywhere. Had 1 committed it, this would lose it.
    c.crash(1);
    c.restart(5);
    // Its first try is in term 4, where everyone has voted; the second wins.
    c.campaign(5);
    c.campaign(5);
    assert.equal(c.node(5).status().role, 'leader');
    for (const id of [2, 3, 4, 5]) {
      assert.equal(c.node(id).logTerm(2), 3);
      assert.ok(c.node(id).status().commit >= 3);
      assert.equal(c.peer(id).applied.get(2)?.term, 3);
    }
  });

  test('the leader commits earlier-term entries once an entry of its term is on a majority', () => {
    const c = new TestCluster([]);
    c.addPeer(1, craftedStorage(CONF5, [1, 2], 3, 0, 1));
    c.addPeer(2, craftedStorage(CONF5, [1, 2], 3, 0, 1));
    c.addPeer(3, craftedStorage(CONF5, [1], 3, 0, 1));
    c.addPeer(4, craftedStorage(CONF5, [1], 3, 0, 1));
    c.addPeer(5, craftedStorage(CONF5, [1, 3], 3, 0, 1));
    c.crash(5);
    c.campaign(1);
    assert.equal(c.node(1).status().commit, 3);
    assert.equal(c.peer(3).applied.get(2)?.term, 2);
  });

  test('the leader counts its own entries only once persisted', () => {
    const c = new TestCluster([1]);
    c.campaign(1);
    c.node(1).propose(enc('x'));
    const rd = c.node(1).ready();
    assert.equal(rd.entries.length, 1);
    assert.equal(rd.committedEntries.length, 0, 'not committed before the shell persisted it');
    c.peer(1).storage.append(rd.entries);
    c.node(1).advance();
    const rd2 = c.node(1).ready();
    assert.equal(rd2.committedEntries.length, 1);
    assert.equal(rd2.hardState?.commit, 3);
    c.node(1).advance();
  });
});

describe('raft: interim work while a write is in flight', () => {
  test('a follower applies a commit learned during its write, and acknowledges only after the next write', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    c.stabilize();
    // Follower 2 starts writing 'b' and stalls there.
    c.node(1).propose(enc('b'));
    const appB = c.take((m) => m.type === 'MsgApp' && m.to === 2);
    for (const m of appB) c.deliver(m);
    const n2 = c.node(2);
    const rdB = n2.ready();
    assert.equal(rdB.entries.length, 1);
    assert.equal(n2.hasInterimReady(), false, 'nothing to do yet');
    // Meanwhile 1 and 3 commit 'b', and 1 tells 2 with an empty append.
    const toTwo: Message[] = [];
    c.stabilize((m) => {
      if (m.to === 2) toTwo.push(m);
      return m.to === 2 || m.from === 2 ? undefined : m;
    });
    const leaderCommit = c.node(1).status().commit;
    assert.equal(leaderCommit, rdB.entries[0]!.index);
    assert.ok(toTwo.some((m) => m.type === 'MsgApp' && m.commit === leaderCommit));
    for (const m of toTwo) c.deliver(m);
    assert.ok(n2.hasInterimReady());
    const ir = n2.interimReady();
    assert.ok(ir.committedEntries.length >= 1, 'the commit is applied without waiting for the write');
    assert.equal(ir.committedEntries[0]!.index, rdB.entries[0]!.index);
    assert.ok(ir.committedEntries.every((e) => e.index <= leaderCommit));
    assert.ok(
      ir.messages.every((m) => m.type !== 'MsgAppResp' && m.type !== 'MsgVoteResp'),
      'no acknowledgement before the write that backs it',
    );
    assert.equal(n2.status().applied, ir.committedEntries[ir.committedEntries.length - 1]!.index);
    assert.equal(n2.hasInterimReady(), false);
    // The write finishes; the next Ready neither repeats those entries nor
    // loses the acknowledgements that waited.
    c.peer(2).storage.append(rdB.entries);
    n2.advance();
    const rd2 = n2.ready();
    assert.ok(rd2.committedEntries.every((e) => e.index > ir.committedEntries[ir.committedEntries.length - 1]!.index));
    assert.ok(rd2.messages.some((m) => m.type === 'MsgAppResp'));
    c.peer(2).storage.append(rd2.entries);
    n2.advance();
  });

  test("a leader's appends go out during its own write; its log counts only once written", () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.stabilize();
    const n1 = c.node(1);
    n1.propose(enc('x'));
    const rd = n1.ready();
    assert.equal(rd.entries.length, 1);
    n1.propose(enc('y'));
    assert.ok(n1.hasInterimReady());
    const ir = n1.interimReady();
    const apps = ir.messages.filter((m) => m.type === 'MsgApp');
    assert.equal(apps.length, 2, 'y goes to both followers while x is being written');
    assert.throws(() => n1.ready(), RaftInvariantError);
    // A quorum of followers commits x and y before the leader's write is done.
    for (const m of [...rd.messages, ...apps]) c.deliver(m);
    c.processReady(2);
    c.processReady(3);
    for (const m of c.queue.splice(0)) if (m.to === 1) c.deliver(m);
    const ir2 = n1.interimReady();
    assert.deepEqual(
      ir2.committedEntries.map((e) => dec(e.data)),
      ['x', 'y'],
    );
    c.peer(1).storage.append(rd.entries);
    n1.advance();
    const rd2 = n1.ready();
    assert.deepEqual(
      rd2.entries.map((e) => dec(e.data)),
      ['y'],
    );
    assert.equal(rd2.committedEntries.length, 0, 'already handed out');
    n1.advance();
  });

  test('interimReady() without an outstanding Ready throws', () => {
    const c = new TestCluster([1]);
    c.campaign(1);
    assert.equal(c.node(1).hasInterimReady(), false);
    assert.throws(() => c.node(1).interimReady(), RaftInvariantError);
  });
});

describe('raft: PreVote and CheckQuorum', () => {
  function partitionedRejoin(preVote: boolean): TestCluster {
    const c = new TestCluster([1, 2, 3], { preVote, seed: 3 });
    c.campaign(1);
    c.isolate(3);
    // The majority keeps committing, so 3's log falls behind.
    c.propose(1, 'x');
    for (let i = 0; i < 100; i++) {
      c.tickAll();
      c.stabilize();
    }
    c.heal();
    for (let i = 0; i < 30; i++) {
      c.tickAll();
      c.stabilize();
    }
    return c;
  }

  test('without PreVote, a partitioned node rejoining deposes the leader', () => {
    const c = partitionedRejoin(false);
    assert.ok(c.node(3).status().term > 2);
    assert.ok(c.node(1).status().term > 2, 'the healthy leader was pushed to a new term');
  });

  test('with PreVote, a partitioned node neither raises its term nor disrupts the leader', () => {
    const c = partitionedRejoin(true);
    assert.equal(c.node(3).status().term, 2);
    assert.equal(c.node(1).status().role, 'leader');
    assert.equal(c.node(1).status().term, 2);
    assert.equal(c.node(3).status().lead, 1);
  });

  test('a pre-vote is granted for an up-to-date log without changing the voter', () => {
    const c = new TestCluster([1, 2, 3], { preVote: true });
    c.campaign(1);
    c.isolate(1);
    c.campaign(2);
    assert.equal(c.node(2).status().role, 'leader');
    assert.equal(c.node(2).status().term, 3);
  });

  test('CheckQuorum: a leader that cannot reach a quorum steps down within an election timeout', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true });
    c.campaign(1);
    c.isolate(1);
    c.tick(1, 10);
    c.stabilize();
    assert.equal(c.node(1).status().role, 'leader', 'first round still counts the previous acks');
    c.tick(1, 10);
    c.stabilize();
    assert.equal(c.node(1).status().role, 'follower');
    assert.equal(c.node(1).status().lead, 0);
  });

  test('CheckQuorum: a leader hearing from a quorum stays', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true });
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 50; i++) {
      c.tick(1);
      c.tick(2);
      c.stabilize();
    }
    assert.equal(c.node(1).status().role, 'leader');
  });

  test('CheckQuorum lease: a follower that hears from its leader ignores a vote request', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true });
    c.campaign(1);
    c.node(3).campaign();
    c.stabilize();
    assert.equal(c.node(2).status().term, 2, 'the vote request was ignored, term unchanged');
    assert.equal(c.node(2).status().vote, 1);
    assert.notEqual(c.node(3).status().role, 'leader');
  });

  test('forgetLeader: a follower that knows its leader is gone grants the first campaigner at once', () => {
    const c = new TestCluster([1, 2, 3], { preVote: true, checkQuorum: true });
    c.campaign(1);
    c.isolate(1);
    // Without forgetting, 2 is in its lease and ignores 3's pre-vote.
    c.campaign(3);
    assert.notEqual(c.node(3).status().role, 'leader');
    assert.equal(c.node(2).status().lead, 1);
    c.node(2).forgetLeader();
    assert.equal(c.node(2).status().lead, 0);
    assert.equal(c.node(2).status().role, 'follower');
    c.campaign(3);
    assert.equal(c.node(3).status().role, 'leader', 'won without waiting out the lease');
    assert.equal(c.node(2).status().lead, 3);
  });

  test('forgetLeader: a leader that was alive after all is followed again on its next message', () => {
    const c = new TestCluster([1, 2, 3], { preVote: true, checkQuorum: true });
    c.campaign(1);
    c.node(2).forgetLeader();
    c.node(1).forgetLeader();
    assert.equal(c.node(1).status().role, 'leader', 'no effect on a leader');
    c.tick(1, 3);
    c.stabilize();
    assert.equal(c.node(2).status().lead, 1);
    assert.equal(c.node(2).status().term, 2);
  });

  test('PreVote + CheckQuorum: a node that lost its leader cannot win while the others still hear from it', () => {
    const c = new TestCluster([1, 2, 3], { preVote: true, checkQuorum: true, seed: 9 });
    c.campaign(1);
    // 3 alone cannot hear from 1 (one-way fault), the others can.
    c.cut.add('1->3');
    for (let i = 0; i < 60; i++) {
      c.tickAll();
      c.stabilize();
    }
    assert.equal(c.node(1).status().role, 'leader');
    assert.equal(c.node(1).status().term, 2);
    assert.equal(c.node(3).status().term, 2, 'pre-votes were refused, so no term inflation');
  });
});

describe('raft: ReadIndex', () => {
  test('the leader answers after a heartbeat round confirms it still leads', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'x');
    assert.ok(c.node(1).readIndex(enc('r1')));
    c.processReady(1);
    assert.equal(c.peer(1).readStates.length, 0, 'not before the round');
    c.stabilize();
    assert.deepEqual(
      c.peer(1).readStates.map((r) => [r.index, new TextDecoder().decode(r.context)]),
      [[c.base + 2, 'r1']],
    );
  });

  test('a follower forwards to the leader and gets the read point back', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'x');
    assert.ok(c.node(3).readIndex(enc('f')));
    c.stabilize();
    assert.equal(c.peer(3).readStates.length, 1);
    assert.equal(c.peer(3).readStates[0]!.index, c.base + 2);
  });

  test('a partitioned leader never answers', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(1);
    c.node(1).readIndex(enc('r'));
    for (let i = 0; i < 5; i++) {
      c.tick(1);
      c.stabilize();
    }
    assert.equal(c.peer(1).readStates.length, 0);
  });

  test('a new leader holds reads until an entry of its term commits', () => {
    const c = new TestCluster([1, 2, 3]);
    c.node(1).campaign();
    c.processAllReady();
    // Elect 1, but keep its no-op from committing.
    c.stabilize((m) => (m.type === 'MsgApp' ? undefined : m));
    assert.equal(c.node(1).status().role, 'leader');
    c.node(1).readIndex(enc('r'));
    c.stabilize((m) => (m.type === 'MsgApp' ? undefined : m));
    assert.equal(c.peer(1).readStates.length, 0);
    c.tick(1);
    c.stabilize();
    assert.equal(c.peer(1).readStates.length, 1);
    assert.equal(c.peer(1).readStates[0]!.index, c.base + 1);
  });

  test('a follower without a leader says so', () => {
    const c = new TestCluster([1, 2, 3]);
    assert.equal(c.node(2).readIndex(enc('r')), false);
  });
});

describe('raft: leadership transfer', () => {
  test('transfer to an up-to-date follower', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true, preVote: true });
    c.campaign(1);
    c.node(1).transferLeadership(2);
    c.stabilize();
    assert.equal(c.node(2).status().role, 'leader');
    assert.equal(c.node(2).status().term, 3);
    assert.equal(c.node(1).status().lead, 2);
  });

  test('transfer to a lagging follower catches it up first; proposals wait', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    c.propose(1, 'a');
    c.propose(1, 'b');
    c.heal();
    c.node(1).transferLeadership(3);
    const r = c.node(1).propose(enc('c'));
    assert.equal(!r.ok && r.reason, 'transfer-in-progress');
    c.stabilize();
    assert.equal(c.node(3).status().role, 'leader');
    assert.deepEqual(c.peer(3).values(), ['a', 'b']);
  });

  test('a follower forwards a transfer request to the leader', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.node(3).transferLeadership(3);
    c.stabilize();
    assert.equal(c.node(3).status().role, 'leader');
  });

  test('a transfer that cannot finish is abandoned after an election timeout', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    c.node(1).transferLeadership(3);
    c.stabilize();
    assert.equal(c.node(1).status().leadTransferee, 3);
    c.tick(1, 10);
    assert.equal(c.node(1).status().leadTransferee, 0);
    assert.ok(c.node(1).propose(enc('x')).ok);
  });

  test('transfer to a learner is ignored', () => {
    const c = new TestCluster([1, 2, 3], {}, [4]);
    c.campaign(1);
    c.node(1).transferLeadership(4);
    c.stabilize();
    assert.equal(c.node(1).status().role, 'leader');
    assert.equal(c.node(1).status().leadTransferee, 0);
  });
});

describe('raft: learners', () => {
  test('a learner receives the log but does not count toward commit', () => {
    const c = new TestCluster([1, 2, 3], {}, [4]);
    c.campaign(1);
    c.propose(1, 'a');
    assert.deepEqual(c.peer(4).values(), ['a']);
    c.isolate(2);
    c.isolate(3);
    c.propose(1, 'b');
    assert.deepEqual(c.peer(4).values(), ['a'], 'leader + learner is no quorum');
    assert.equal(c.node(4).status().lastIndex, c.base + 3, 'but the learner has the entry');
  });

  test("a learner's vote does not count", () => {
    const c = new TestCluster([1, 2, 3], {}, [4]);
    c.isolate(2);
    c.isolate(3);
    c.campaign(1);
    assert.equal(c.node(1).status().role, 'candidate');
  });
});

describe('raft: snapshots and compaction', () => {
  test('a follower behind the first index catches up by snapshot', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.propose(1, `v${i}`);
    const leader = c.peer(1);
    const applied = leader.appliedIndex;
    leader.storage.createSnapshot(applied, c.node(1).confStateAt(applied), leader.snapshotData());
    leader.storage.compact(applied);
    assert.equal(c.node(1).status().firstIndex, applied + 1);
    c.heal();
    c.propose(1, 'after');
    const snaps = c.delivered.filter((m) => m.type === 'MsgSnap');
    assert.equal(snaps.length, 1);
    c.node(1).reportSnapshot(3, true);
    c.runUntil(() => c.peer(3).values().length === 21);
    assert.deepEqual(c.peer(3).values(), c.peer(1).values());
    assert.equal(c.peer(3).storage.snapshot().index, applied);
    assert.equal(c.node(1).progress()!.get(3)!.state, 'replicate');
  });

  test('a failed snapshot is sent again', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    const leader = c.peer(1);
    leader.storage.createSnapshot(
      leader.appliedIndex,
      c.node(1).confStateAt(leader.appliedIndex),
      leader.snapshotData(),
    );
    leader.storage.compact(leader.appliedIndex);
    c.heal();
    c.tick(1);
    c.stabilize((m) => (m.type === 'MsgSnap' ? undefined : m));
    assert.equal(c.node(1).progress()!.get(3)!.state, 'snapshot');
    c.node(1).reportSnapshot(3, false);
    assert.equal(c.node(1).progress()!.get(3)!.state, 'probe');
    c.runUntil(() => c.peer(3).values().length === 5);
  });

  test('a node restarts from its snapshot and the log after it', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    for (let i = 0; i < 6; i++) c.propose(1, `v${i}`);
    const p = c.peer(2);
    const at = c.base + 4;
    p.storage.createSnapshot(at, c.node(2).confStateAt(at), enc('[]'));
    p.storage.compact(at);
    c.crash(2);
    c.restart(2);
    const s = c.node(2).status();
    assert.equal(s.firstIndex, at + 1);
    assert.equal(s.commit, c.base + 7);
    assert.equal(s.applied, at);
    assert.deepEqual(s.conf, CONF3);
    c.processReady(2);
    assert.equal(p.appliedIndex, c.base + 7);
  });

  test('MemoryStorage refuses to compact past its snapshot', () => {
    const s = new MemoryStorage(CONF3);
    s.append(entriesWithTerms([1, 1, 1]));
    assert.throws(() => s.compact(2), RangeError);
    s.createSnapshot(2, CONF3, new Uint8Array());
    s.compact(2);
    assert.equal(s.firstIndex(), 3);
    assert.equal(s.term(2), 1);
    assert.throws(() => s.entries(2, 3), RangeError);
  });

  test('MemoryStorage.append replaces a conflicting suffix and skips compacted entries', () => {
    const s = new MemoryStorage(CONF3);
    s.append(entriesWithTerms([1, 1, 1, 1]));
    s.append(entriesWithTerms([2, 2], 3));
    assert.deepEqual(
      s.entries(1, 5).map((e) => e.term),
      [1, 1, 2, 2],
    );
    s.createSnapshot(3, CONF3, new Uint8Array());
    s.compact(3);
    s.append(entriesWithTerms([1, 1, 2, 2, 2]));
    assert.equal(s.lastIndex(), 5);
    assert.throws(() => s.append(entriesWithTerms([3], 9)), RaftInvariantError);
  });
});

describe('raft: membership changes', () => {
  test('add a learner, let it catch up, promote it to voter', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    c.addPeer(4);
    let r = c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 });
    assert.ok(r.ok, JSON.stringify(r));
    c.stabilize();
    assert.deepEqual(c.node(1).confState(), { voters: [1, 2, 3], learners: [4] });
    assert.deepEqual(c.node(4).confState(), { voters: [1, 2, 3], learners: [4] });
    assert.deepEqual(c.peer(4).values(), ['a']);
    r = c.node(1).proposeConfChange({ type: 'addNode', nodeId: 4 });
    assert.ok(r.ok);
    c.stabilize();
    for (const id of [1, 2, 3, 4]) assert.deepEqual(c.node(id).confState(), { voters: [1, 2, 3, 4], learners: [] });
    // Four voters: the quorum is three.
    c.isolate(3);
    c.isolate(4);
    c.propose(1, 'b');
    assert.deepEqual(c.peer(1).values(), ['a']);
  });

  test('remove a follower: the quorum shrinks at once', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    assert.ok(c.node(1).proposeConfChange({ type: 'removeNode', nodeId: 3 }).ok);
    c.stabilize();
    assert.deepEqual(c.node(2).confState().voters, [1, 2]);
    c.propose(1, 'x');
    assert.deepEqual(c.peer(2).values(), ['x']);
  });

  test('removing the leader: it commits the change, then steps down and stops campaigning', () => {
    const c = new TestCluster([1, 2, 3], { seed: 5 });
    c.campaign(1);
    assert.ok(c.node(1).proposeConfChange({ type: 'removeNode', nodeId: 1 }).ok);
    c.stabilize();
    assert.equal(c.node(1).status().role, 'follower');
    assert.equal(c.node(2).status().commit, c.base + 2);
    c.runUntil(() => c.leader() === 2 || c.leader() === 3);
    c.tick(1, 100);
    assert.equal(c.node(1).status().role, 'follower');
    const lead = c.leader();
    c.propose(lead, 'y');
    assert.deepEqual(c.peer(lead === 2 ? 3 : 2).values(), ['y']);
  });

  test('one change at a time, and none before the leader commits in its term', () => {
    const c = new TestCluster([1, 2, 3]);
    c.node(1).campaign();
    c.stabilize((m) => (m.type === 'MsgApp' ? undefined : m));
    assert.equal(c.node(1).status().role, 'leader');
    let r = c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 });
    assert.equal(!r.ok && r.reason, 'conf-change-pending');
    c.tick(1);
    c.stabilize();
    c.isolate(2);
    c.isolate(3);
    assert.ok(c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 }).ok);
    r = c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 5 });
    assert.equal(!r.ok && r.reason, 'conf-change-pending');
    r = c.node(1).proposeConfChange({ type: 'removeNode', nodeId: 9 });
    assert.equal(!r.ok && r.reason, 'conf-change-pending');
    c.heal();
    c.stabilize();
    r = c.node(1).proposeConfChange({ type: 'removeNode', nodeId: 9 });
    assert.equal(!r.ok && r.reason, 'invalid-conf-change');
  });

  // D. Ongaro, "bug in single-server membership changes" (raft-dev, 2015):
  // without the rule that a leader commits an entry of its term before
  // changing the configuration, the old leader below could win with {1,4,5}
  // and erase a committed configuration.
  test("Ongaro's single-server change interleaving cannot elect a leader without a committed change", () => {
    const c = new TestCluster([1, 2, 3, 4]);
    c.campaign(1);
    c.addPeer(5);
    // 1 adds 5 but only 5 hears of it.
    for (const id of [2, 3, 4]) {
      c.cut.add(`1->${id}`);
      c.cut.add(`${id}->1`);
    }
    assert.ok(c.node(1).proposeConfChange({ type: 'addNode', nodeId: 5 }).ok);
    c.stabilize();
    assert.deepEqual(c.node(5).confState().voters, [1, 2, 3, 4, 5]);
    assert.equal(c.node(2).status().lastIndex, c.base + 1);
    // 1 and 5 drop away; 2 is elected by {2, 3, 4} under the old configuration.
    c.heal();
    c.isolate(1);
    c.isolate(5);
    c.node(2).campaign();
    c.stabilize((m) => (m.type === 'MsgApp' ? undefined : m));
    assert.equal(c.node(2).status().role, 'leader');
    const early = c.node(2).proposeConfChange({ type: 'removeNode', nodeId: 4 });
    assert.equal(!early.ok && early.reason, 'conf-change-pending', 'no change before an entry of this term commits');
    c.tick(2);
    c.stabilize();
    assert.ok(c.node(2).proposeConfChange({ type: 'removeNode', nodeId: 4 }).ok);
    c.isolate(4);
    c.stabilize();
    const removal = c.node(2).status().commit;
    assert.deepEqual(c.node(3).confState().voters, [1, 2, 3]);
    assert.equal(c.node(3).status().commit, removal, 'removal committed by {2, 3}');
    // 2 crashes; 1 restarts and asks {3, 4, 5} under its configuration {1..5}.
    c.crash(2);
    c.crash(1);
    c.restart(1);
    c.heal();
    for (let i = 0; i < 3; i++) c.campaign(1);
    assert.notEqual(c.node(1).status().role, 'leader', '4 holds an entry of term 3 and refuses');
    assert.equal(c.node(3).logTerm(removal), 3);
    assert.deepEqual(c.node(3).confState().voters, [1, 2, 3]);
  });

  test('a configuration entry that is truncated away takes its configuration with it', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(1);
    assert.ok(c.node(1).proposeConfChange({ type: 'removeNode', nodeId: 3 }).ok);
    c.stabilize();
    // 1 appended the change to its log only; it is in force there.
    assert.deepEqual(c.node(1).confState().voters, [1, 2]);
    c.heal();
    c.isolate(1);
    c.campaign(2);
    c.propose(2, 'x');
    c.heal();
    c.runUntil(() => c.peer(1).values().length === 1);
    assert.deepEqual(c.node(1).confState().voters, [1, 2, 3]);
  });

  test('a new node with an empty log is caught up from the log or a snapshot', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    const leader = c.peer(1);
    leader.storage.createSnapshot(
      leader.appliedIndex,
      c.node(1).confStateAt(leader.appliedIndex),
      leader.snapshotData(),
    );
    leader.storage.compact(leader.appliedIndex);
    c.addPeer(4);
    assert.ok(c.node(1).proposeConfChange({ type: 'addNode', nodeId: 4 }).ok);
    c.stabilize();
    c.node(1).reportSnapshot(4, true);
    c.runUntil(() => c.peer(4).values().length === 5);
    assert.deepEqual(c.node(4).confState().voters, [1, 2, 3, 4]);
  });
});

describe('raft: invariants', () => {
  test('a heartbeat claiming a commit past our log throws', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    assert.throws(
      () => c.node(2).step({ type: 'MsgHeartbeat', from: 1, to: 2, term: 2, commit: 99 }),
      RaftInvariantError,
    );
  });

  test('a second leader in one term throws', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    assert.throws(
      () => c.node(2).step({ type: 'MsgApp', from: 3, to: 2, term: 2, index: 1, logTerm: 1, entries: [], commit: 0 }),
      RaftInvariantError,
    );
  });

  test('ready() twice without advance() throws', () => {
    const n = RaftNode.create(
      { id: 1, electionTick: 10, heartbeatTick: 1, preVote: false, checkQuorum: false, rng: mulberry32(1) },
      new MemoryStorage({ voters: [1], learners: [] }),
    );
    n.campaign();
    n.ready();
    assert.throws(() => n.ready(), RaftInvariantError);
    assert.throws(() => {
      n.advance();
      n.advance();
    }, RaftInvariantError);
  });

  test('a restart refuses a hard state whose commit passes the log', () => {
    const s = craftedStorage(CONF3, [1, 1], 1, 0, 5);
    assert.throws(
      () =>
        RaftNode.create(
          { id: 1, electionTick: 10, heartbeatTick: 1, preVote: false, checkQuorum: false, rng: mulberry32(1) },
          s,
        ),
      RaftInvariantError,
    );
  });
});
