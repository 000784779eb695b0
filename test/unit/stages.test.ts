// The replication stage figures (ZooKeeper's proposal_latency,
// proposal_ack_creation_latency and N_ack_latency): the time they read out of
// a request entry, and which acks they count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JuteWriter } from '../../src/jute/buffer.js';
import { EntryKind, encodeEntry } from '../../src/txn/entry.js';
import { ReplicationStages, entryTime } from '../../src/ensemble/stages.js';
import type { Entry } from '../../src/raft/index.js';

/** A request entry as the leader's QuorumPeer writes it: origin, incarnation, seq, then the command. */
function requestEntry(index: number, time: number): Entry {
  const w = new JuteWriter(256);
  w.int(2).int(77).long(9);
  encodeEntry(w, { kind: EntryKind.request, zxid: 0, time, sessionId: 5n, cxid: 1, op: 5, body: new Uint8Array(3) });
  return { index, term: 1, type: 'normal', data: w.toBuffer() };
}

test('entryTime reads the leader time out of a request entry, and nothing else', () => {
  assert.equal(entryTime(requestEntry(1, 1_763_800_000_123)), 1_763_800_000_123);
  assert.equal(entryTime({ index: 2, term: 1, type: 'normal', data: new Uint8Array(0) }), -1, 'a no-op');
  const cc = requestEntry(3, 5);
  assert.equal(entryTime({ ...cc, type: 'confChange' }), -1, 'a membership change');
  // A payload that is a view into a larger buffer.
  const big = new Uint8Array(cc.data.length + 10);
  big.set(cc.data, 10);
  assert.equal(entryTime({ ...cc, data: big.subarray(10) }), 5);
});

test('a follower times receipt and acknowledgement from the proposal', () => {
  const s = new ReplicationStages();
  s.received(
    [requestEntry(1, 1000), requestEntry(2, 1004), { index: 3, term: 1, type: 'normal', data: new Uint8Array(0) }],
    1010,
  );
  assert.equal(s.proposal.count, 2, 'the no-op has no time');
  assert.equal(s.proposal.percentileMs(100), 10);
  s.acknowledging([requestEntry(1, 1000)], 1030);
  assert.equal(s.ackCreation.count, 1);
  assert.equal(s.ackCreation.percentileMs(50), 30);
  s.received([requestEntry(4, 2000)], 1990);
  assert.equal(s.proposal.percentileMs(0), 0, 'a clock behind the leader counts as 0, not negative');
});

test('the leader counts each voter ack once per entry, by voter', () => {
  const s = new ReplicationStages();
  for (let i = 1; i <= 5; i++) s.proposed(i, 100 + i);
  s.acked(2, 0, 200); // the first ack of a term only marks where the voter is
  s.acked(2, 3, 110);
  s.acked(2, 3, 150); // a repeated ack adds nothing
  s.acked(2, 2, 150); // nor does a stale one
  s.acked(3, 0, 200);
  s.acked(3, 5, 120);
  const rows = new Map(s.metrics().flatMap((m) => m.rows()));
  assert.equal(rows.get('zk_cnt_2_ack_latency'), 3);
  assert.equal(rows.get('zk_max_2_ack_latency'), 9); // entry 1 at 101, acked at 110
  assert.equal(rows.get('zk_cnt_3_ack_latency'), 5);
  s.acked(2, 5, 130);
  assert.equal(new Map(s.metrics().flatMap((m) => m.rows())).get('zk_cnt_2_ack_latency'), 5);
  // Entries proposed longer ago than the ring holds are skipped, not misattributed.
  s.proposed(5 + 8192, 500);
  s.acked(2, 5 + 8192, 510);
  assert.equal(new Map(s.metrics().flatMap((m) => m.rows())).get('zk_cnt_2_ack_latency'), 6);
  s.reset();
  assert.equal(new Map(s.metrics().flatMap((m) => m.rows())).get('zk_cnt_2_ack_latency'), 0);
});

test('a new term starts the leader ack figures afresh', () => {
  const s = new ReplicationStages();
  s.proposed(1, 100);
  s.acked(2, 0, 100);
  s.newTerm();
  s.acked(2, 1, 150);
  assert.equal(
    new Map(s.metrics().flatMap((m) => m.rows())).get('zk_cnt_2_ack_latency') ?? 0,
    0,
    'no proposal time in the new term',
  );
});
