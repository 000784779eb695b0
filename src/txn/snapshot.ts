// The state machine as bytes, for snapshots: sessions, the ACL table and every
// znode parent-first, in chunks so a large tree never needs one huge buffer.
import { JuteReader, JuteWriter } from '../jute/buffer.js';
import { readAcls, writeAcls } from '../jute/records.js';
import { baseName, parentOf } from '../tree/path.js';
import { CONFIG_PATH, QUOTA_PATH, ZOOKEEPER_PATH } from '../tree/datatree.js';
import { StateMachine, type StateOptions } from './state.js';

const MAGIC = 0x534e4150; // 'SNAP'
const VERSION = 1;
const CHUNK = 1 << 20;

export function* serializeState(sm: StateMachine): Generator<Uint8Array> {
  const w = new JuteWriter(CHUNK * 2);
  w.int(MAGIC).int(VERSION).long(sm.lastZxid);
  w.int(sm.sessions.size);
  for (const s of sm.sessions.values()) {
    w.bigLong(s.id).int(s.timeout).buffer(s.passwd).ustring(s.clientIp).int(s.authIds.length);
    for (const a of s.authIds) w.ustring(a.scheme).ustring(a.id);
  }
  const acls = sm.tree.acls.entries();
  w.int(acls.length);
  for (const [idx, list] of acls) {
    w.int(idx);
    writeAcls(w, list);
  }
  w.int(sm.tree.size);
  // Parents precede their children, so loading can insert in file order.
  for (const n of sm.tree.preorder()) {
    w.ustring(n.path)
      .buffer(n.dataOrNull)
      .int(n.acl)
      .long(n.czxid)
      .long(n.mzxid)
      .long(n.ctime)
      .long(n.mtime)
      .int(n.version)
      .int(n.cversion)
      .int(n.aversion)
      .bigLong(n.ephemeralOwner)
      .long(n.pzxid);
    if (w.length >= CHUNK) {
      yield w.toBuffer();
      w.reset();
    }
  }
  yield w.toBuffer();
}

function isParent(parent: string, path: string, slash: number): boolean {
  return parent === '/' ? slash === 0 : slash === parent.length && path.startsWith(parent);
}

/** The stack of (path, slot) from the root down to a system node. */
function systemAncestors(tree: StateMachine['tree'], path: string): Array<{ path: string; slot: number }> {
  const out: Array<{ path: string; slot: number }> = [];
  for (let p = path; ; p = parentOf(p)) {
    out.unshift({ path: p, slot: tree.slotOf(p)! });
    if (p === '/') break;
  }
  return out;
}

export function deserializeState(buf: Uint8Array, opts: StateOptions): StateMachine {
  const r = new JuteReader(buf);
  if (r.int() !== MAGIC) throw new Error('not a Synod snapshot');
  const version = r.int();
  if (version !== VERSION) throw new Error(`unsupported snapshot version ${version}`);
  const sm = new StateMachine(opts);
  sm.lastZxid = r.long();
  const nSessions = r.int();
  for (let i = 0; i < nSessions; i++) {
    const id = r.bigLong();
    const timeout = r.int();
    const passwd = Uint8Array.prototype.slice.call(r.buffer() ?? new Uint8Array(0));
    const clientIp = r.string();
    const nAuth = r.int();
    const authIds = [];
    for (let j = 0; j < nAuth; j++) authIds.push({ scheme: r.string(), id: r.string() });
    sm.sessions.set(id, { id, timeout, passwd, clientIp, authIds });
  }
  const nAcls = r.int();
  const aclByIdx = new Map<number, ReturnType<typeof readAcls>>();
  for (let i = 0; i < nAcls; i++) {
    const idx = r.int();
    aclByIdx.set(idx, readAcls(r));
  }
  const tree = sm.tree;
  tree.loading = true;
  const nNodes = r.int();
  tree.reserve(nNodes + 16);
  // Each distinct ACL list is interned once; nodes then just take a reference.
  const internedAcl = new Map<number, number>();
  const ancestors: Array<{ path: string; slot: number }> = [];
  for (let i = 0; i < nNodes; i++) {
    const path = r.string();
    const data = r.buffer();
    const aclIdx = r.int();
    const acl = aclByIdx.get(aclIdx);
    if (!acl) throw new Error(`snapshot names unknown ACL ${aclIdx} at ${path}`);
    const rec = {
      data,
      acl,
      czxid: r.long(),
      mzxid: r.long(),
      ctime: r.long(),
      mtime: r.long(),
      version: r.int(),
      cversion: r.int(),
      aversion: r.int(),
      ephemeralOwner: r.bigLong(),
      pzxid: r.long(),
    };
    if (path === '/' || path === ZOOKEEPER_PATH || path === QUOTA_PATH || path === CONFIG_PATH) {
      // The root and system nodes exist already; take their recorded state.
      const n = tree.get(path)!;
      tree.overwrite(n, rec);
      ancestors.length = 0;
      ancestors.push(...systemAncestors(tree, path));
      continue;
    }
    // Parents come first, so the parent is on the ancestor stack: no lookup needed.
    const slash = path.lastIndexOf('/');
    while (ancestors.length > 0 && !isParent(ancestors[ancestors.length - 1]!.path, path, slash)) ancestors.pop();
    const parent = ancestors[ancestors.length - 1];
    if (!parent) throw new Error(`snapshot lists ${baseName(path)} before its parent`);
    let interned = internedAcl.get(aclIdx);
    if (interned === undefined) {
      interned = tree.acls.intern(acl);
      tree.acls.release(interned); // loadNode takes the node's own reference
      internedAcl.set(aclIdx, interned);
    }
    ancestors.push({ path, slot: tree.loadNode(parent.slot, path, rec, interned) });
  }
  tree.loading = false;
  tree.rebuildQuotaRoots();
  return sm;
}
