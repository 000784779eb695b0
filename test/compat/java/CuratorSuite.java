// Apache Curator's framework and recipes against a server under test. Each recipe
// runs with several clients (separate sessions) so it has to coordinate for real.
// Usage: java CuratorSuite host:port
// Prints "OK <check>" or "FAIL <check>: <why>" per check, then "DONE <failures>".

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.data.Stat;

public class CuratorSuite {
    static final long WAIT_MS = 20_000;
    static String connectString;
    static int failures = 0;
    static final List<CuratorFramework> clients = new ArrayList<>();
    static final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r);
        t.setDaemon(true);
        return t;
    });

    interface Body {
        void run() throws Exception;
    }

    static void check(String name, Body body) {
        try {
            body.run();
            System.out.println("OK " + name);
        } catch (Throwable t) {
            failures++;
            System.out.println("FAIL " + name + ": " + String.valueOf(t).replace('\n', ' '));
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

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static CuratorFramework client() throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.newClient(connectString, 30_000, 15_000, new RetryNTimes(3, 500));
        clients.add(c);
        c.start();
        if (!c.blockUntilConnected((int) WAIT_MS, TimeUnit.MILLISECONDS)) {
            throw new AssertionError("Curator client not connected within " + WAIT_MS + " ms");
        }
        return c;
    }

    static void await(CountDownLatch latch, String what) throws InterruptedException {
        if (!latch.await(WAIT_MS, TimeUnit.MILLISECONDS)) throw new AssertionError(what + " within " + WAIT_MS + " ms");
    }

    static <T> T get(Future<T> f, String what) throws Exception {
        try {
            return f.get(WAIT_MS * 2, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            throw new AssertionError(what + " did not finish in time");
        }
    }

    /** Poll a condition at most every 50 ms until the deadline; Curator reports state asynchronously. */
    static void eventually(String what, java.util.function.BooleanSupplier cond) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (System.currentTimeMillis() < deadline) {
            if (cond.getAsBoolean()) return;
            Thread.sleep(50);
        }
        throw new AssertionError(what + " not reached within " + WAIT_MS + " ms");
    }

    public static void main(String[] args) throws Exception {
        connectString = args[0];
        CuratorFramework a;
        CuratorFramework b;
        try {
            a = client();
            b = client();
            System.out.println("OK connect");
        } catch (Throwable t) {
            System.out.println("FAIL connect: " + t);
            System.out.println("DONE 1");
            System.exit(1);
            return;
        }
        final CuratorFramework ca = a;
        final CuratorFramework cb = b;

        check("framework_crud", () -> {
            Stat st = new Stat();
            String p = ca.create().creatingParentContainersIfNeeded().storingStatIn(st).forPath("/cur/crud/node", b("v1"));
            eq("/cur/crud/node", p, "created path");
            eq(0, st.getVersion(), "version");
            eq("v1", new String(cb.getData().forPath("/cur/crud/node"), StandardCharsets.UTF_8), "read by the other client");
            cb.setData().withVersion(0).forPath("/cur/crud/node", b("v2"));
            eq(1, ca.checkExists().forPath("/cur/crud/node").getVersion(), "version after set");
            String prot = ca.create().withProtection().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath("/cur/crud/p-", b("x"));
            expect(prot.matches("/cur/crud/_c_[0-9a-f-]{36}-p-\\d{10}"), "protected name " + prot);
            List<String> kids = cb.getChildren().forPath("/cur/crud");
            Collections.sort(kids);
            eq(2, kids.size(), "children " + kids);
            ca.delete().deletingChildrenIfNeeded().forPath("/cur/crud");
            expect(cb.checkExists().forPath("/cur/crud") == null, "deleted with children");
        });

        check("framework_transaction", () -> {
            ca.create().creatingParentsIfNeeded().forPath("/cur/tx", b("0"));
            List<CuratorOp> ops = Arrays.asList(
                    ca.transactionOp().create().forPath("/cur/tx/a", b("a")),
                    ca.transactionOp().setData().withVersion(0).forPath("/cur/tx", b("1")),
                    ca.transactionOp().check().withVersion(1).forPath("/cur/tx"));
            List<CuratorTransactionResult> res = ca.transaction().forOperations(ops);
            eq(3, res.size(), "results");
            eq("/cur/tx/a", res.get(0).getForPath(), "first result path");
            eq("1", new String(cb.getData().forPath("/cur/tx"), StandardCharsets.UTF_8), "data after transaction");
        });

        check("inter_process_mutex", () -> {
            String path = "/cur/mutex";
            InterProcessMutex ma = new InterProcessMutex(ca, path);
            InterProcessMutex mb = new InterProcessMutex(cb, path);
            expect(ma.acquire(WAIT_MS, TimeUnit.MILLISECONDS), "a acquires a free lock");
            // b contends from another thread (locks are per thread) and must wait for a.
            CountDownLatch bHas = new CountDownLatch(1);
            CountDownLatch bRelease = new CountDownLatch(1);
            Future<Boolean> bTry = pool.submit(() -> mb.acquire(200, TimeUnit.MILLISECONDS));
            expect(!get(bTry, "b's timed attempt"), "b cannot take a held lock");
            Future<Void> bWait = pool.submit(() -> {
                mb.acquire();
                bHas.countDown();
                bRelease.await(WAIT_MS, TimeUnit.MILLISECONDS);
                mb.release();
                return null;
            });
            expect(!bHas.await(300, TimeUnit.MILLISECONDS), "b is still waiting while a holds the lock");
            eq(2, ma.getParticipantNodes().size(), "both clients have lock nodes");
            ma.release();
            await(bHas, "b gets the lock after a releases it");
            bRelease.countDown();
            get(bWait, "b's release");

            // Mutual exclusion under contention: 2 clients x 2 threads x 5 rounds.
            AtomicInteger inside = new AtomicInteger();
            AtomicInteger maxInside = new AtomicInteger();
            AtomicInteger rounds = new AtomicInteger();
            List<Future<Void>> workers = new ArrayList<>();
            for (CuratorFramework c : Arrays.asList(ca, cb, ca, cb)) {
                workers.add(pool.submit(() -> {
                    InterProcessMutex m = new InterProcessMutex(c, path);
                    for (int i = 0; i < 5; i++) {
                        if (!m.acquire(WAIT_MS, TimeUnit.MILLISECONDS)) throw new AssertionError("lock not acquired");
                        try {
                            int now = inside.incrementAndGet();
                            maxInside.accumulateAndGet(now, Math::max);
                            Thread.sleep(2);
                            rounds.incrementAndGet();
                            inside.decrementAndGet();
                        } finally {
                            m.release();
                        }
                    }
                    return null;
                }));
            }
            for (Future<Void> w : workers) get(w, "mutex worker");
            eq(20, rounds.get(), "every round ran");
            eq(1, maxInside.get(), "never two holders at once");
            eq(0, ca.getChildren().forPath(path).size(), "lock nodes cleaned up");
        });

        check("leader_latch", () -> {
            CuratorFramework cc = client();
            List<LeaderLatch> latches = new ArrayList<>();
            for (CuratorFramework c : Arrays.asList(ca, cb, cc)) {
                LeaderLatch l = new LeaderLatch(c, "/cur/leader", "p" + latches.size());
                latches.add(l);
                l.start();
            }
            eventually("exactly one leader", () -> latches.stream().filter(LeaderLatch::hasLeadership).count() == 1);
            LeaderLatch first = latches.stream().filter(LeaderLatch::hasLeadership).findFirst().get();
            eq(first.getId(), latches.get(0).getLeader().getId(), "all agree on the leader");
            eq(3, latches.get(1).getParticipants().size(), "three participants");
            first.close();
            List<LeaderLatch> rest = new ArrayList<>(latches);
            rest.remove(first);
            eventually("leadership moves to a remaining latch",
                    () -> rest.stream().filter(LeaderLatch::hasLeadership).count() == 1);
            LeaderLatch second = rest.stream().filter(LeaderLatch::hasLeadership).findFirst().get();
            expect(second != first, "a new leader");
            eventually("participants agree on the new leader", () -> {
                try {
                    return second.getId().equals(rest.get(0).getLeader().getId()) && rest.get(0).getParticipants().size() == 2;
                } catch (Exception e) {
                    return false;
                }
            });
            for (LeaderLatch l : rest) l.close();
        });

        check("shared_count", () -> {
            SharedCount sa = new SharedCount(ca, "/cur/count", 0);
            SharedCount sb = new SharedCount(cb, "/cur/count", 0);
            sa.start();
            sb.start();
            int perClient = 15;
            AtomicInteger conflicts = new AtomicInteger();
            List<Future<Void>> workers = new ArrayList<>();
            for (SharedCount sc : Arrays.asList(sa, sb)) {
                workers.add(pool.submit(() -> {
                    for (int i = 0; i < perClient; i++) {
                        for (int attempt = 0; ; attempt++) {
                            if (attempt > 200) throw new AssertionError("compare-and-set never succeeded");
                            VersionedValue<Integer> v = sc.getVersionedValue();
                            if (sc.trySetCount(v, v.getValue() + 1)) break;
                            conflicts.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<Void> w : workers) get(w, "shared count worker");
            eventually("both see the total", () -> sa.getCount() == 2 * perClient && sb.getCount() == 2 * perClient);
            // A stale version must be refused.
            VersionedValue<Integer> now = sa.getVersionedValue();
            expect(sa.trySetCount(now, 100), "fresh version accepted");
            expect(!sb.trySetCount(now, 200), "stale version refused");
            sa.close();
            sb.close();
        });

        check("curator_cache", () -> {
            ca.create().creatingParentsIfNeeded().forPath("/cur/cache", b("root"));
            ca.create().forPath("/cur/cache/pre", b("p"));
            BlockingQueue<String> events = new LinkedBlockingQueue<>();
            CountDownLatch initialized = new CountDownLatch(1);
            CuratorCache cache = CuratorCache.build(cb, "/cur/cache");
            cache.listenable().addListener(CuratorCacheListener.builder()
                    .forCreates(n -> events.add("create " + n.getPath() + " " + str(n)))
                    .forChanges((o, n) -> events.add("change " + n.getPath() + " " + str(o) + "->" + str(n)))
                    .forDeletes(o -> events.add("delete " + o.getPath()))
                    .forInitialized(initialized::countDown)
                    .build());
            cache.start();
            await(initialized, "cache initialized");
            eq(2, cache.size(), "cache holds the root and the existing child");
            eq("p", str(cache.get("/cur/cache/pre").orElse(null)), "existing child cached");
            events.clear();
            ca.create().forPath("/cur/cache/a", b("1"));
            expectEvent(events, "create /cur/cache/a 1");
            ca.setData().forPath("/cur/cache/a", b("2"));
            expectEvent(events, "change /cur/cache/a 1->2");
            ca.create().forPath("/cur/cache/a/deep", b("d"));
            expectEvent(events, "create /cur/cache/a/deep d");
            ca.delete().deletingChildrenIfNeeded().forPath("/cur/cache/a");
            List<String> deletes = new ArrayList<>(Arrays.asList(next(events), next(events)));
            Collections.sort(deletes);
            eq(Arrays.asList("delete /cur/cache/a", "delete /cur/cache/a/deep"), deletes, "deletes");
            eventually("cache forgets deleted nodes", () -> !cache.get("/cur/cache/a").isPresent());
            cache.close();
        });

        check("semaphore", () -> {
            InterProcessSemaphoreV2 sa = new InterProcessSemaphoreV2(ca, "/cur/sem", 2);
            InterProcessSemaphoreV2 sb = new InterProcessSemaphoreV2(cb, "/cur/sem", 2);
            Lease l1 = sa.acquire(WAIT_MS, TimeUnit.MILLISECONDS);
            Lease l2 = sb.acquire(WAIT_MS, TimeUnit.MILLISECONDS);
            expect(l1 != null && l2 != null, "two leases available");
            Future<Lease> third = pool.submit(() -> sb.acquire(300, TimeUnit.MILLISECONDS));
            expect(get(third, "third lease attempt") == null, "no third lease while two are held");
            Future<Lease> waiting = pool.submit(() -> sb.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
            sa.returnLease(l1);
            Lease l3 = get(waiting, "waiting lease");
            expect(l3 != null, "a lease frees up after return");
            sb.returnLease(l2);
            sb.returnLease(l3);
        });

        for (CuratorFramework c : clients) {
            try {
                c.close();
            } catch (Exception e) {
                // closing is best effort
            }
        }
        pool.shutdownNow();
        System.out.println("DONE " + failures);
        System.out.flush();
        System.exit(failures == 0 ? 0 : 1);
    }

    static String str(ChildData d) {
        return d == null || d.getData() == null ? "null" : new String(d.getData(), StandardCharsets.UTF_8);
    }

    static String next(BlockingQueue<String> events) throws InterruptedException {
        String e = events.poll(WAIT_MS, TimeUnit.MILLISECONDS);
        if (e == null) throw new AssertionError("no cache event within " + WAIT_MS + " ms");
        return e;
    }

    static void expectEvent(BlockingQueue<String> events, String expected) throws InterruptedException {
        eq(expected, next(events), "cache event");
    }
}
