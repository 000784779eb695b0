// ACL semantics of ZooKeeperServer.checkACL and PrepRequestProcessor.fixupACL.
// Identities arrive already authenticated (the digest hash is computed by the
// server's auth layer), so everything here is pure.
import { Err, Perms, ZkError } from '../jute/constants.js';
import type { ACL, Id } from '../jute/records.js';

export const OPEN_ACL_UNSAFE: readonly ACL[] = Object.freeze([
  { perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } },
]);
export const READ_ACL_UNSAFE: readonly ACL[] = Object.freeze([
  { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
]);

/** Parses `a.b.c.d[/bits]` (IPv4) into a 32-bit address and a mask; null when malformed. */
export function parseIpv4Cidr(s: string): { addr: number; bits: number } | null {
  const slash = s.indexOf('/');
  const host = slash === -1 ? s : s.substring(0, slash);
  const bitsText = slash === -1 ? '32' : s.substring(slash + 1);
  if (!/^\d{1,2}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  if (bits > 32) return null;
  const parts = host.split('.');
  if (parts.length !== 4) return null;
  let addr = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    addr = addr * 256 + v;
  }
  return { addr, bits };
}

function ipMatches(clientIp: string, aclId: string): boolean {
  const want = parseIpv4Cidr(aclId);
  const have = parseIpv4Cidr(clientIp.startsWith('::ffff:') ? clientIp.substring(7) : clientIp);
  if (!want || !have) return clientIp === aclId;
  if (want.bits === 0) return true;
  const shift = 32 - want.bits;
  return Math.floor(want.addr / 2 ** shift) === Math.floor(have.addr / 2 ** shift);
}

function idMatches(caller: Id, aclId: Id): boolean {
  if (caller.scheme !== aclId.scheme) return false;
  if (caller.scheme === 'ip') return ipMatches(caller.id, aclId.id);
  return caller.id === aclId.id;
}

/** True when `authIds` grant `perm` on a node with `acl` (empty ACL grants everything). */
export function aclPermits(acl: readonly ACL[], perm: number, authIds: readonly Id[]): boolean {
  if (acl.length === 0) return true;
  for (const a of authIds) if (a.scheme === 'super') return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    if (a.id.scheme === 'world' && a.id.id === 'anyone') return true;
    for (const caller of authIds) if (idMatches(caller, a.id)) return true;
  }
  return false;
}

export function checkAcl(acl: readonly ACL[], perm: number, authIds: readonly Id[]): void {
  if (!aclPermits(acl, perm, authIds)) throw new ZkError(Err.NOAUTH);
}

function validId(id: Id): boolean {
  switch (id.scheme) {
    case 'world':
      return id.id === 'anyone';
    case 'digest':
      return id.id.split(':').length === 2;
    case 'ip':
      return parseIpv4Cidr(id.id) !== null;
    case 'super':
      return true;
    default:
      return false;
  }
}

/** Validates an ACL list for create/setACL and expands `auth` to the caller's ids. */
export function fixupAcl(acl: readonly ACL[], authIds: readonly Id[]): ACL[] {
  if (acl.length === 0) throw new ZkError(Err.INVALIDACL);
  const out: ACL[] = [];
  const seen = new Set<string>();
  const push = (a: ACL) => {
    const key = `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(a);
  };
  for (const a of acl) {
    if (a.perms < 0 || a.perms > Perms.ALL) throw new ZkError(Err.INVALIDACL);
    if (a.id.scheme === 'auth') {
      let any = false;
      for (const caller of authIds) {
        // Only identities a provider vouches for count (digest, not ip or super).
        if (caller.scheme === 'digest') {
          push({ perms: a.perms, id: { scheme: caller.scheme, id: caller.id } });
          any = true;
        }
      }
      if (!any) throw new ZkError(Err.INVALIDACL);
    } else {
      if (!validId(a.id)) throw new ZkError(Err.INVALIDACL);
      push({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } });
    }
  }
  return out;
}

/** Interns ACL lists so a million znodes with the same ACL share one array. */
export class AclCache {
  private readonly byKey = new Map<string, number>();
  private readonly lists: (readonly ACL[])[] = [];
  private readonly refs: number[] = [];

  intern(acl: readonly ACL[]): number {
    const key = aclKey(acl);
    let idx = this.byKey.get(key);
    if (idx === undefined) {
      idx = this.lists.length;
      this.lists.push(Object.freeze(acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ ...a.id }) }))));
      this.refs.push(0);
      this.byKey.set(key, idx);
    }
    this.refs[idx]!++;
    return idx;
  }

  get(idx: number): readonly ACL[] {
    return this.lists[idx]!;
  }

  /** One more user of an interned list (bulk loads intern each distinct list once). */
  ref(idx: number): number {
    this.refs[idx]!++;
    return idx;
  }

  release(idx: number): void {
    this.refs[idx]!--;
  }

  /** Entries in use, for snapshots. */
  entries(): Array<[number, readonly ACL[]]> {
    const out: Array<[number, readonly ACL[]]> = [];
    for (let i = 0; i < this.lists.length; i++) if (this.refs[i]! > 0) out.push([i, this.lists[i]!]);
    return out;
  }
}

function aclKey(acl: readonly ACL[]): string {
  let k = '';
  for (const a of acl) k += `${a.perms}|${a.id.scheme}|${a.id.id}\n`;
  return k;
}
