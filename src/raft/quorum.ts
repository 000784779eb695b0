// Majority arithmetic, kept apart as pure functions so a test can check them
// against a naive twin (etcd's quorum/quick_test.go does the same).

export type VoteResult = 'won' | 'lost' | 'pending';

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The largest index acknowledged by a majority of `voters`: sort the acks
 * descending and take the quorum-th. 0 for an empty voter set.
 */
export function committedIndex(voters: readonly number[], acked: (id: number) => number): number {
  const n = voters.length;
  if (n === 0) return 0;
  const values = voters.map(acked);
  values.sort((a, b) => b - a);
  return values[quorumSize(n) - 1]!;
}

/** Whether the recorded votes already decide an election among `voters`. Votes from non-voters do not count. */
export function voteResult(voters: readonly number[], votes: ReadonlyMap<number, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return 'won';
  if (voters.length - rejected < q) return 'lost';
  return 'pending';
}
