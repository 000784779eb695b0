// Apache ZooKeeper's own Java client against a server under test.
// Usage: java JavaClientSuite host:port
// Prints "OK <check>" or "FAIL <check>: <why>" per check, then "DONE <failures>".
// Every wait is bounded so a server that never answers fails a check instead of hanging.

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

public class JavaClientSuite {
    static final long WAIT_MS = 15_000;
    // Containers and TTL nodes are reaped by a periodic task (every second in these tests).
    static final long REAP_WAIT_MS = 30_000;
    static final List<ACL> OPEN = Ids.OPEN_ACL_UNSAFE;
    static String connectString;
    static int failures = 0;
    static final List<ZooKeeper> opened = new ArrayList<>();

    interface Body {
        void run() throws Exception;
    }

    static void check(String name, Body body) {
        try {
            body.run();
            System.out.println("OK " + name);
        } catch (Throwable t) {
            failures++;
            String msg = String.valueOf(t).replace('\n', ' ');
            System.out.println("FAIL " + name + ": " + msg);
        }
        System.out.flush();
    }

    static void expect(boolean cond, String what) {
        if (!cond) throw new AssertionError(what);
    }

    static void eq(Object expected, Object actual, String what) {
        if (expected == null ? actual != null : !expected.equals(actual)) {
            throw new AssertionError(what + ": expected <" + expected + "> but got <" + actual + ">");
        }
    }

    static Code codeOf(Body body) throws Exception {
        try {
            body.run();
        } catch (KeeperException e) {
            return e.code();
        }
        return Code.OK;
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String s(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /** A watcher that queues events for the test thread to take in order. */
    static final class Events implements Watcher {
        final BlockingQueue<WatchedEvent> queue = new LinkedBlockingQueue<>();

        @Override
        public void process(WatchedEvent event) {
            if (event.getType() != EventType.None) queue.add(event);
        }

        WatchedEvent next() throws InterruptedException {
            WatchedEvent e = queue.poll(WAIT_MS, TimeUnit.MILLISECONDS);
            if (e == null) throw new AssertionError("no watch event within " + WAIT_MS + " ms");
            return e;
        }

        WatchedEvent next(long ms) throws InterruptedException {
            WatchedEvent e = queue.poll(ms, TimeUnit.MILLISECONDS);
            if (e == null) throw new AssertionError("no watch event within " + ms + " ms");
            return e;
        }

        void expectNext(EventType type, String path) throws InterruptedException {
            WatchedEvent e = next();
            eq(type + " " + path, e.getType() + " " + e.getPath(), "watch event");
        }

        /**
         * Show that nothing else is queued without sleeping: events for one session arrive in
         * order, so once an event triggered afterwards arrives, any earlier one would have too.
         */
        void expectQuiet(ZooKeeper zk, String sentinel) throws Exception {
            expect(zk.exists(sentinel, this) == null, "sentinel " + sentinel + " must not exist yet");
            zk.create(sentinel, null, OPEN, CreateMode.PERSISTENT);
            WatchedEvent e = next();
            eq(EventType.NodeCreated + " " + sentinel, e.getType() + " " + e.getPath(), "only the sentinel event");
        }
    }

    static ZooKeeper open() throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(connectString, 30_000, event -> {
            if (event.getState() == KeeperState.SyncConnected) connected.countDown();
        });
        opened.add(zk);
        if (!connected.await(WAIT_MS, TimeUnit.MILLISECONDS)) {
            throw new AssertionError("not connected within " + WAIT_MS + " ms");
        }
        return zk;
    }

    /** Wait (bounded) until path is gone, using an exists watch rather than polling. */
    static void awaitDeleted(ZooKeeper zk, String path, long ms) throws Exception {
        long deadline = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < deadline) {
            Events ev = new Events();
            if (zk.exists(path, ev) == null) return;
            WatchedEvent e = ev.queue.poll(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            if (e != null && e.getType() == EventType.NodeDeleted) return;
        }
        throw new AssertionError(path + " still exists after " + ms + " ms");
    }

    static String digest(String idPassword) throws Exception {
        byte[] sha = MessageDigest.getInstance("SHA1").digest(b(idPassword));
        return idPassword.substring(0, idPassword.indexOf(':')) + ":" + Base64.getEncoder().encodeToString(sha);
    }

    public static void main(String[] args) throws Exception {
        connectString = args[0];
        ZooKeeper zk;
        try {
            zk = open();
            System.out.println("OK connect");
        } catch (Throwable t) {
            System.out.println("FAIL connect: " + t);
            System.out.println("DONE 1");
            System.exit(1);
            return;
        }
        final ZooKeeper z = zk;
        final long sid = z.getSessionId();

        check("session", () -> {
            expect(sid != 0, "session id is non-zero");
            eq(30_000, z.getSessionTimeout(), "negotiated session timeout");
        });

        check("create2_stat", () -> {
            Stat st = new Stat();
            eq("/j", z.create("/j", b("root"), OPEN, CreateMode.PERSISTENT, st), "path");
            expect(st.getCzxid() > 0, "czxid > 0");
            eq(st.getCzxid(), st.getMzxid(), "mzxid == czxid");
            eq(st.getCzxid(), st.getPzxid(), "pzxid == czxid");
            eq(st.getCtime(), st.getMtime(), "mtime == ctime");
            expect(Math.abs(st.getCtime() - System.currentTimeMillis()) < 600_000, "ctime is wall-clock ms");
            eq(0, st.getVersion(), "version");
            eq(0, st.getCversion(), "cversion");
            eq(0, st.getAversion(), "aversion");
            eq(4, st.getDataLength(), "dataLength");
            eq(0, st.getNumChildren(), "numChildren");
            eq(0L, st.getEphemeralOwner(), "ephemeralOwner");
            Stat again = z.exists("/j", false);
            eq(st, again, "exists returns the same Stat");
        });

        check("create_persistent_sequential", () -> {
            Stat st = new Stat();
            String p1 = z.create("/j/ps-", b("1"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL, st);
            String p2 = z.create("/j/ps-", b("2"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL);
            expect(p1.matches("/j/ps-\\d{10}"), "sequential name " + p1);
            expect(p2.compareTo(p1) > 0, p2 + " sorts after " + p1);
            eq(0L, st.getEphemeralOwner(), "ephemeralOwner");
        });

        check("create_ephemeral", () -> {
            Stat st = new Stat();
            z.create("/j/eph", b("e"), OPEN, CreateMode.EPHEMERAL, st);
            eq(sid, st.getEphemeralOwner(), "ephemeralOwner is our session");
            eq(Code.NOCHILDRENFOREPHEMERALS, codeOf(() -> z.create("/j/eph/kid", null, OPEN, CreateMode.PERSISTENT)),
                    "child of an ephemeral");
        });

        check("create_ephemeral_sequential", () -> {
            Stat st = new Stat();
            String p = z.create("/j/es-", null, OPEN, CreateMode.EPHEMERAL_SEQUENTIAL, st);
            expect(p.matches("/j/es-\\d{10}"), "sequential name " + p);
            eq(sid, st.getEphemeralOwner(), "ephemeralOwner");
        });

        check("create_errors", () -> {
            eq(Code.NODEEXISTS, codeOf(() -> z.create("/j", null, OPEN, CreateMode.PERSISTENT)), "existing");
            eq(Code.NONODE, codeOf(() -> z.create("/nope/kid", null, OPEN, CreateMode.PERSISTENT)), "no parent");
            eq(Code.BADVERSION, codeOf(() -> z.setData("/j", b("x"), 7)), "setData stale version");
            eq(Code.NOTEMPTY, codeOf(() -> z.delete("/j", -1)), "delete non-empty");
            eq(Code.NONODE, codeOf(() -> z.delete("/j/none", -1)), "delete missing");
        });

        check("create_container", () -> {
            Stat st = new Stat();
            z.create("/j/cont", null, OPEN, CreateMode.CONTAINER, st);
            // The server marks containers inside ephemeralOwner but shows clients 0 (DataNode.copyStat).
            eq(0L, st.getEphemeralOwner(), "container ephemeralOwner as clients see it");
            eq(0L, z.exists("/j/cont", false).getEphemeralOwner(), "exists shows 0 too");
            z.create("/j/cont/kid", b("k"), OPEN, CreateMode.PERSISTENT);
            z.delete("/j/cont/kid", -1);
            awaitDeleted(z, "/j/cont", REAP_WAIT_MS);
        });

        check("create_ttl", () -> {
            Stat st = new Stat();
            z.create("/j/ttl", b("t"), OPEN, CreateMode.PERSISTENT_WITH_TTL, st, 500);
            // As with containers, the TTL encoded in ephemeralOwner stays on the server.
            eq(0L, st.getEphemeralOwner(), "ttl ephemeralOwner as clients see it");
            awaitDeleted(z, "/j/ttl", REAP_WAIT_MS);
        });

        check("create_ttl_sequential", () -> {
            Stat st = new Stat();
            String p = z.create("/j/ttls-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, st, 600_000);
            expect(p.matches("/j/ttls-\\d{10}"), "sequential name " + p);
            eq(0L, st.getEphemeralOwner(), "ttl ephemeralOwner as clients see it");
            z.delete(p, -1);
        });

        check("async_create2", () -> {
            CountDownLatch done = new CountDownLatch(1);
            AtomicInteger rc = new AtomicInteger(Integer.MIN_VALUE);
            AtomicReference<String> name = new AtomicReference<>();
            AtomicReference<Stat> stat = new AtomicReference<>();
            z.create("/j/async", b("a"), OPEN, CreateMode.PERSISTENT, (code, path, ctx, n, st) -> {
                rc.set(code);
                name.set(n);
                stat.set(st);
                done.countDown();
            }, null);
            expect(done.await(WAIT_MS, TimeUnit.MILLISECONDS), "callback within " + WAIT_MS + " ms");
            eq(0, rc.get(), "rc");
            eq("/j/async", name.get(), "name");
            eq(1, stat.get().getDataLength(), "stat.dataLength");
        });

        check("get_set_versions", () -> {
            Stat st = new Stat();
            eq("root", s(z.getData("/j", false, st)), "data");
            Stat after = z.setData("/j", b("root2"), st.getVersion());
            eq(st.getVersion() + 1, after.getVersion(), "version bumps");
            expect(after.getMzxid() > st.getMzxid(), "mzxid moves");
            eq(st.getCzxid(), after.getCzxid(), "czxid stays");
            Stat kids = new Stat();
            List<String> children = z.getChildren("/j", false, kids);
            eq(children.size(), kids.getNumChildren(), "getChildren2 stat.numChildren");
        });

        check("multi", () -> {
            z.create("/j/m", b("m0"), OPEN, CreateMode.PERSISTENT);
            List<OpResult> res = z.multi(Arrays.asList(
                    Op.create("/j/m/a", b("a"), OPEN, CreateMode.PERSISTENT),
                    Op.check("/j/m", 0),
                    Op.setData("/j/m", b("m1"), 0),
                    Op.create("/j/m/b", null, OPEN, CreateMode.PERSISTENT),
                    Op.delete("/j/m/b", 0)));
            eq(5, res.size(), "result count");
            expect(res.get(0) instanceof OpResult.CreateResult, "create result: " + res.get(0));
            eq("/j/m/a", ((OpResult.CreateResult) res.get(0)).getPath(), "created path");
            expect(res.get(1) instanceof OpResult.CheckResult, "check result: " + res.get(1));
            expect(res.get(2) instanceof OpResult.SetDataResult, "setData result: " + res.get(2));
            eq(1, ((OpResult.SetDataResult) res.get(2)).getStat().getVersion(), "new version");
            expect(res.get(4) instanceof OpResult.DeleteResult, "delete result: " + res.get(4));
            eq("m1", s(z.getData("/j/m", false, null)), "data after multi");
            expect(z.exists("/j/m/b", false) == null, "/j/m/b created and deleted in one multi");
        });

        check("multi_failure_is_atomic", () -> {
            KeeperException caught = null;
            try {
                z.multi(Arrays.asList(
                        Op.create("/j/m/never", null, OPEN, CreateMode.PERSISTENT),
                        Op.check("/j/m", 99),
                        Op.setData("/j/m", b("x"), -1)));
            } catch (KeeperException e) {
                caught = e;
            }
            expect(caught != null, "multi with a bad check throws");
            eq(Code.BADVERSION, caught.code(), "error code");
            List<OpResult> res = caught.getResults();
            eq(3, res.size(), "result count");
            int[] errs = new int[3];
            for (int i = 0; i < 3; i++) {
                expect(res.get(i) instanceof OpResult.ErrorResult, "error result " + i + ": " + res.get(i));
                errs[i] = ((OpResult.ErrorResult) res.get(i)).getErr();
            }
            eq(Arrays.toString(new int[] {0, Code.BADVERSION.intValue(), Code.RUNTIMEINCONSISTENCY.intValue()}),
                    Arrays.toString(errs), "per-op errors");
            expect(z.exists("/j/m/never", false) == null, "nothing from a failed multi applies");
            eq("m1", s(z.getData("/j/m", false, null)), "data unchanged");
        });

        check("transaction_builder", () -> {
            List<OpResult> res = z.transaction()
                    .create("/j/tx", b("t"), OPEN, CreateMode.PERSISTENT)
                    .setData("/j/tx", b("t2"), 0)
                    .commit();
            eq(2, res.size(), "result count");
            eq("t2", s(z.getData("/j/tx", false, null)), "data");
        });

        check("multi_read", () -> {
            List<OpResult> res = z.multi(Arrays.asList(Op.getChildren("/j/m"), Op.getData("/j/m")));
            eq(2, res.size(), "result count");
            expect(res.get(0) instanceof OpResult.GetChildrenResult, "children result: " + res.get(0));
            eq(Collections.singletonList("a"), ((OpResult.GetChildrenResult) res.get(0)).getChildren(), "children");
            expect(res.get(1) instanceof OpResult.GetDataResult, "data result: " + res.get(1));
            OpResult.GetDataResult gd = (OpResult.GetDataResult) res.get(1);
            eq("m1", s(gd.getData()), "data");
            eq(1, gd.getStat().getVersion(), "stat");
            // A failing read does not stop the others: each op gets its own result.
            List<OpResult> mixed = z.multi(Arrays.asList(Op.getData("/j/missing"), Op.getData("/j/m")));
            expect(mixed.get(0) instanceof OpResult.ErrorResult, "missing node gives an error result: " + mixed.get(0));
            eq(Code.NONODE.intValue(), ((OpResult.ErrorResult) mixed.get(0)).getErr(), "error code");
            expect(mixed.get(1) instanceof OpResult.GetDataResult, "second read still answered: " + mixed.get(1));
        });

        check("get_all_children_number", () -> {
            z.create("/j/count", null, OPEN, CreateMode.PERSISTENT);
            z.create("/j/count/a", null, OPEN, CreateMode.PERSISTENT);
            z.create("/j/count/b", null, OPEN, CreateMode.PERSISTENT);
            z.create("/j/count/a/x", null, OPEN, CreateMode.PERSISTENT);
            eq(3, z.getAllChildrenNumber("/j/count"), "descendants of /j/count");
            eq(1, z.getAllChildrenNumber("/j/count/a"), "descendants of /j/count/a");
            eq(0, z.getAllChildrenNumber("/j/count/b"), "leaf");
            eq(Code.NONODE, codeOf(() -> z.getAllChildrenNumber("/j/count/none")), "missing node");
        });

        check("get_ephemerals", () -> {
            z.create("/j/ee", null, OPEN, CreateMode.PERSISTENT);
            z.create("/j/ee/one", null, OPEN, CreateMode.EPHEMERAL);
            z.create("/j/ee/two", null, OPEN, CreateMode.EPHEMERAL);
            List<String> all = z.getEphemerals();
            for (String p : new String[] {"/j/eph", "/j/ee/one", "/j/ee/two"}) {
                expect(all.contains(p), "getEphemerals() has " + p + ": " + all);
            }
            List<String> under = new ArrayList<>(z.getEphemerals("/j/ee"));
            Collections.sort(under);
            eq(Arrays.asList("/j/ee/one", "/j/ee/two"), under, "getEphemerals(/j/ee)");
            ZooKeeper other = open();
            eq(Collections.emptyList(), other.getEphemerals(), "another session owns none");
        });

        check("watch_one_shot", () -> {
            Events ev = new Events();
            z.create("/j/w", b("0"), OPEN, CreateMode.PERSISTENT);
            z.getData("/j/w", ev, null);
            z.setData("/j/w", b("1"), -1);
            ev.expectNext(EventType.NodeDataChanged, "/j/w");
            z.setData("/j/w", b("2"), -1); // the watch was used up
            z.getChildren("/j/w", ev);
            z.create("/j/w/kid", null, OPEN, CreateMode.PERSISTENT);
            ev.expectNext(EventType.NodeChildrenChanged, "/j/w");
            expect(z.exists("/j/w/new", ev) == null, "not there yet");
            z.create("/j/w/new", null, OPEN, CreateMode.PERSISTENT);
            ev.expectNext(EventType.NodeCreated, "/j/w/new");
            z.exists("/j/w/new", ev);
            z.delete("/j/w/new", -1);
            ev.expectNext(EventType.NodeDeleted, "/j/w/new");
            ev.expectQuiet(z, "/j/w/sentinel");
        });

        check("add_watch_persistent", () -> {
            Events ev = new Events();
            z.addWatch("/j/pw", ev, AddWatchMode.PERSISTENT);
            z.create("/j/pw", b("0"), OPEN, CreateMode.PERSISTENT);
            ev.expectNext(EventType.NodeCreated, "/j/pw");
            z.setData("/j/pw", b("1"), -1);
            ev.expectNext(EventType.NodeDataChanged, "/j/pw");
            z.setData("/j/pw", b("2"), -1);
            ev.expectNext(EventType.NodeDataChanged, "/j/pw"); // still armed: persistent
            z.create("/j/pw/kid", null, OPEN, CreateMode.PERSISTENT);
            ev.expectNext(EventType.NodeChildrenChanged, "/j/pw");
            z.setData("/j/pw/kid", b("x"), -1); // not recursive: no event for the child's data
            z.delete("/j/pw/kid", -1);
            ev.expectNext(EventType.NodeChildrenChanged, "/j/pw");
            z.delete("/j/pw", -1);
            ev.expectNext(EventType.NodeDeleted, "/j/pw");
            z.create("/j/pw", null, OPEN, CreateMode.PERSISTENT);
            ev.expectNext(EventType.NodeCreated, "/j/pw"); // survives the node's deletion
            z.removeWatches("/j/pw", ev, Watcher.WatcherType.Any, false);
            ev.expectNext(EventType.PersistentWatchRemoved, "/j/pw");
            z.setData("/j/pw", b("3"), -1);
            ev.expectQuiet(z, "/j/pw-sentinel");
        });

        check("add_watch_persistent_recursive", () -> {
            Events ev = new Events();
            z.create("/j/pr", null, OPEN, CreateMode.PERSISTENT);
            z.addWatch("/j/pr", ev, AddWatchMode.PERSISTENT_RECURSIVE);
            z.create("/j/pr/a", null, OPEN, CreateMode.PERSISTENT);
            ev.expectNext(EventType.NodeCreated, "/j/pr/a");
            z.create("/j/pr/a/b", b("0"), OPEN, CreateMode.PERSISTENT);
            ev.expectNext(EventType.NodeCreated, "/j/pr/a/b");
            z.setData("/j/pr/a/b", b("1"), -1);
            ev.expectNext(EventType.NodeDataChanged, "/j/pr/a/b");
            z.setData("/j/pr/a/b", b("2"), -1);
            ev.expectNext(EventType.NodeDataChanged, "/j/pr/a/b");
            z.delete("/j/pr/a/b", -1);
            ev.expectNext(EventType.NodeDeleted, "/j/pr/a/b");
            z.setData("/j/pr", b("top"), -1);
            ev.expectNext(EventType.NodeDataChanged, "/j/pr");
            // Recursive watches never deliver NodeChildrenChanged: the creates above said it all.
            z.removeWatches("/j/pr", ev, Watcher.WatcherType.Any, false);
            ev.expectNext(EventType.PersistentWatchRemoved, "/j/pr");
            z.create("/j/pr/c", null, OPEN, CreateMode.PERSISTENT);
            ev.expectQuiet(z, "/j/pr-sentinel");
        });

        check("remove_watches", () -> {
            z.create("/j/rw", b("0"), OPEN, CreateMode.PERSISTENT);
            Events data = new Events();
            Events child = new Events();
            z.getData("/j/rw", data, null);
            z.getChildren("/j/rw", child);
            z.removeWatches("/j/rw", data, Watcher.WatcherType.Data, false);
            data.expectNext(EventType.DataWatchRemoved, "/j/rw");
            z.setData("/j/rw", b("1"), -1);
            data.expectQuiet(z, "/j/rw-sentinel-d");
            eq(Code.NOWATCHER, codeOf(() -> z.removeWatches("/j/rw", data, Watcher.WatcherType.Data, false)),
                    "removing a watch that is gone");
            z.removeAllWatches("/j/rw", Watcher.WatcherType.Children, false);
            child.expectNext(EventType.ChildWatchRemoved, "/j/rw");
            z.create("/j/rw/kid", null, OPEN, CreateMode.PERSISTENT);
            child.expectQuiet(z, "/j/rw-sentinel-c");
        });

        check("who_am_i", () -> {
            ZooKeeper other = open();
            List<ClientInfo> before = other.whoAmI();
            boolean ip = false;
            for (ClientInfo ci : before) ip |= "ip".equals(ci.getAuthScheme()) && "127.0.0.1".equals(ci.getUser());
            expect(ip, "whoAmI has ip:127.0.0.1: " + before);
            other.addAuthInfo("digest", b("alice:secret"));
            List<ClientInfo> after = other.whoAmI();
            boolean dig = false;
            for (ClientInfo ci : after) dig |= "digest".equals(ci.getAuthScheme()) && "alice".equals(ci.getUser());
            expect(dig, "whoAmI has digest:alice after addAuthInfo: " + after);
        });

        check("sync", () -> {
            CountDownLatch done = new CountDownLatch(1);
            AtomicInteger rc = new AtomicInteger(Integer.MIN_VALUE);
            AtomicReference<String> path = new AtomicReference<>();
            z.sync("/j", (code, p, ctx) -> {
                rc.set(code);
                path.set(p);
                done.countDown();
            }, null);
            expect(done.await(WAIT_MS, TimeUnit.MILLISECONDS), "sync callback within " + WAIT_MS + " ms");
            eq(0, rc.get(), "rc");
            eq("/j", path.get(), "path");
        });

        check("acl", () -> {
            String id = digest("alice:secret");
            List<ACL> acl = Arrays.asList(
                    new ACL(ZooDefs.Perms.READ, Ids.ANYONE_ID_UNSAFE),
                    new ACL(ZooDefs.Perms.ALL, new Id("digest", id)));
            z.create("/j/acl", b("v"), OPEN, CreateMode.PERSISTENT);
            eq(Code.BADVERSION, codeOf(() -> z.setACL("/j/acl", acl, 3)), "setACL with a wrong aversion");
            Stat st = z.setACL("/j/acl", acl, 0);
            eq(1, st.getAversion(), "aversion after setACL");
            // ADMIN is checked before the version: the world has READ only now.
            eq(Code.NOAUTH, codeOf(() -> z.setACL("/j/acl", OPEN, 1)), "setACL without ADMIN");
            Stat got = new Stat();
            List<ACL> back = z.getACL("/j/acl", got);
            // Without ADMIN on the node, digest hashes come back masked (ZOOKEEPER-1392).
            eq(Arrays.asList(acl.get(0), new ACL(ZooDefs.Perms.ALL, new Id("digest", "alice:x"))), back,
                    "getACL as a stranger");
            eq(1, got.getAversion(), "getACL stat");
            eq("v", s(z.getData("/j/acl", false, null)), "world can read");
            eq(Code.NOAUTH, codeOf(() -> z.setData("/j/acl", b("w"), -1)), "world cannot write");
            ZooKeeper alice = open();
            alice.addAuthInfo("digest", b("alice:secret"));
            eq(acl, alice.getACL("/j/acl", null), "getACL as the owner returns what was set");
            alice.setData("/j/acl", b("w"), -1);
            alice.create("/j/acl/kid", null, Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
            List<ACL> kid = alice.getACL("/j/acl/kid", null);
            eq(Collections.singletonList(new ACL(ZooDefs.Perms.ALL, new Id("digest", id))), kid, "CREATOR_ALL_ACL");
            eq(Code.NOAUTH, codeOf(() -> z.getData("/j/acl/kid", false, null)), "others cannot read the kid");
            eq(Code.INVALIDACL, codeOf(() -> z.create("/j/bad", null, Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT)),
                    "CREATOR_ALL_ACL without any auth");
        });

        check("close_removes_ephemerals", () -> {
            ZooKeeper other = open();
            other.create("/j/gone", null, OPEN, CreateMode.EPHEMERAL);
            Events ev = new Events();
            expect(z.exists("/j/gone", ev) != null, "ephemeral exists while its session is open");
            other.close();
            ev.expectNext(EventType.NodeDeleted, "/j/gone");
        });

        for (ZooKeeper o : opened) {
            try {
                o.close();
            } catch (Exception e) {
                // closing is best effort
            }
        }
        System.out.println("DONE " + failures);
        System.out.flush();
        System.exit(failures == 0 ? 0 : 1);
    }
}
