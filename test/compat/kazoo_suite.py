"""kazoo (Debian's python3-kazoo) and its recipes against a server under test.

Usage: /usr/bin/python3 kazoo_suite.py host:port

Prints "OK <check>" or "FAIL <check>: <why>" per check, then "DONE <failures>".
Every recipe runs with at least two clients (separate sessions) or threads so it
has to coordinate through the server. Every wait is bounded, and a watchdog
ends the process if the whole run overstays.
"""

import os
import queue
import sys
import threading
import time
import traceback

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    LockTimeout,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.recipe.cache import TreeCache, TreeEvent

WAIT = 15.0
WATCHDOG_SECONDS = 100

HOSTS = sys.argv[1]
failures = 0
clients = []


def watchdog():
    print("FAIL watchdog: the suite ran longer than %d s" % WATCHDOG_SECONDS, flush=True)
    os._exit(3)


def check(name):
    def run(fn):
        global failures
        try:
            fn()
            print("OK " + name, flush=True)
        except Exception as e:  # noqa: BLE001 - every failure becomes a FAIL line
            failures += 1
            detail = "%s: %s" % (type(e).__name__, e)
            print("FAIL %s: %s" % (name, detail.replace("\n", " ")), flush=True)
            traceback.print_exc(file=sys.stderr)
        return fn

    return run


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def eq(expected, actual, what):
    if expected != actual:
        raise AssertionError("%s: expected %r but got %r" % (what, expected, actual))


def raises(exc, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc:
        return
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn), exc.__name__))


def try_acquire(lock, timeout):
    """kazoo's locks raise LockTimeout rather than return False when a timeout runs out."""
    try:
        return lock.acquire(timeout=timeout)
    except LockTimeout:
        return False


def client():
    c = KazooClient(hosts=HOSTS, timeout=30.0)
    c.start(timeout=WAIT)
    clients.append(c)
    return c


def in_thread(fn, *args):
    """Run fn in a daemon thread; returns (thread, box) where box holds result or error."""
    box = {}

    def body():
        try:
            box["result"] = fn(*args)
        except Exception as e:  # noqa: BLE001
            box["error"] = e

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, box


def join(t, box, what):
    t.join(WAIT)
    expect(not t.is_alive(), "%s did not finish within %ss" % (what, WAIT))
    if "error" in box:
        raise box["error"]
    return box.get("result")


def take(q, what):
    try:
        return q.get(timeout=WAIT)
    except queue.Empty:
        raise AssertionError("no %s within %ss" % (what, WAIT))


def main():
    timer = threading.Timer(WATCHDOG_SECONDS, watchdog)
    timer.daemon = True
    timer.start()

    try:
        a = client()
        b = client()
        print("OK connect", flush=True)
    except Exception as e:  # noqa: BLE001
        print("FAIL connect: %r" % (e,), flush=True)
        print("DONE 1", flush=True)
        sys.exit(1)

    @check("crud")
    def _():
        a.ensure_path("/kz/crud")
        eq("/kz/crud/n", a.create("/kz/crud/n", b"v1"), "create")
        data, st = b.get("/kz/crud/n")
        eq(b"v1", data, "data seen by the other client")
        eq(0, st.version, "version")
        eq(2, len(b"v1") and st.data_length, "data_length")
        st2 = b.set("/kz/crud/n", b"v2", version=0)
        eq(1, st2.version, "version after set")
        raises(BadVersionError, a.set, "/kz/crud/n", b"x", version=0)
        raises(NodeExistsError, a.create, "/kz/crud/n")
        raises(NoNodeError, a.get, "/kz/crud/missing")
        raises(NoNodeError, a.create, "/kz/nope/child")
        seq = a.create("/kz/crud/s-", b"", sequence=True)
        expect(seq.startswith("/kz/crud/s-") and len(seq) == len("/kz/crud/s-") + 10, "sequential name %s" % seq)
        eph = a.create("/kz/crud/e", ephemeral=True)
        eq(a.client_id[0], a.exists(eph).ephemeralOwner, "ephemeralOwner")
        made = a.create("/kz/crud/deep/er/path", b"x", makepath=True)
        eq("/kz/crud/deep/er/path", made, "makepath")
        kids, kst = b.get_children("/kz/crud", include_data=True)
        eq(sorted(["n", seq.rsplit("/", 1)[1], "e", "deep"]), sorted(kids), "children")
        eq(4, kst.numChildren, "numChildren")
        raises(NotEmptyError, a.delete, "/kz/crud/deep")
        a.delete("/kz/crud/deep", recursive=True)
        expect(b.exists("/kz/crud/deep") is None, "recursive delete")
        raises(BadVersionError, a.delete, "/kz/crud/n", version=0)
        a.delete("/kz/crud/n", version=1)

    @check("async_api")
    def _():
        a.ensure_path("/kz/async")
        r = a.create_async("/kz/async/x", b"1")
        eq("/kz/async/x", r.get(timeout=WAIT), "create_async")
        data, st = b.get_async("/kz/async/x").get(timeout=WAIT)
        eq(b"1", data, "get_async")
        res = a.get_async("/kz/async/missing")
        raises(NoNodeError, res.get, timeout=WAIT)

    @check("transaction")
    def _():
        a.create("/kz/tx", b"0", makepath=True)
        t = a.transaction()
        t.create("/kz/tx/a", b"a")
        t.check("/kz/tx", 0)
        t.set_data("/kz/tx", b"1", version=0)
        t.create("/kz/tx/b")
        t.delete("/kz/tx/b")
        res = t.commit()
        eq(["/kz/tx/a", True, res[2], "/kz/tx/b", True], res, "results")
        eq(1, res[2].version, "set_data result stat")
        eq(b"1", b.get("/kz/tx")[0], "data after commit")

        t = a.transaction()
        t.create("/kz/tx/never")
        t.check("/kz/tx", 42)
        t.set_data("/kz/tx", b"x")
        res = t.commit()
        eq(3, len(res), "failed transaction results")
        expect(isinstance(res[0], RolledBackError), "first op rolled back: %r" % (res[0],))
        expect(isinstance(res[1], BadVersionError), "second op failed with BadVersion: %r" % (res[1],))
        # Ops before the failure read OK (RolledBack), ops after it RUNTIMEINCONSISTENCY.
        expect(isinstance(res[2], RuntimeInconsistency), "third op not attempted: %r" % (res[2],))
        expect(b.exists("/kz/tx/never") is None, "nothing applied")
        eq(b"1", b.get("/kz/tx")[0], "data unchanged")

    @check("data_watch")
    def _():
        a.create("/kz/dw", b"d0", makepath=True)
        seen = queue.Queue()

        @b.DataWatch("/kz/dw")
        def watcher(data, stat):
            seen.put((data, stat.version if stat else None))

        eq((b"d0", 0), take(seen, "initial DataWatch call"), "initial")
        a.set("/kz/dw", b"d1")
        eq((b"d1", 1), take(seen, "DataWatch change"), "after set")
        a.set("/kz/dw", b"d2")
        eq((b"d2", 2), take(seen, "second change"), "the watch re-arms")
        a.delete("/kz/dw")
        eq((None, None), take(seen, "DataWatch delete"), "after delete")
        a.create("/kz/dw", b"again")
        eq((b"again", 0), take(seen, "DataWatch re-create"), "after re-create")

    @check("children_watch")
    def _():
        a.ensure_path("/kz/cw")
        seen = queue.Queue()

        @b.ChildrenWatch("/kz/cw")
        def watcher(children):
            seen.put(sorted(children))

        eq([], take(seen, "initial ChildrenWatch call"), "initial")
        a.create("/kz/cw/x")
        eq(["x"], take(seen, "ChildrenWatch create"), "after create")
        a.create("/kz/cw/y", ephemeral=True)
        eq(["x", "y"], take(seen, "second create"), "after second create")
        a.delete("/kz/cw/x")
        eq(["y"], take(seen, "ChildrenWatch delete"), "after delete")

    @check("lock")
    def _():
        la = a.Lock("/kz/lock", "a")
        lb = b.Lock("/kz/lock", "b")
        expect(la.acquire(timeout=WAIT), "a acquires the free lock")
        expect(not try_acquire(lb, 0.3), "b cannot take a held lock")
        t, box = in_thread(lambda: lb.acquire(timeout=WAIT))
        # contenders() lists holders in queue order; b shows up once its node exists.
        deadline = time.time() + WAIT
        while time.time() < deadline and len(la.contenders()) < 2:
            time.sleep(0.05)
        eq(["a", "b"], la.contenders(), "contenders in order")
        la.release()
        expect(join(t, box, "b's acquire"), "b gets the lock once a releases it")
        expect(lb.is_acquired, "b holds it")
        lb.release()

        # Mutual exclusion with two clients, two threads each.
        inside = [0]
        max_inside = [0]
        rounds = [0]
        guard = threading.Lock()

        def worker(c, ident):
            lk = c.Lock("/kz/lock", ident)
            for _ in range(5):
                expect(lk.acquire(timeout=WAIT), "acquire in worker")
                try:
                    with guard:
                        inside[0] += 1
                        max_inside[0] = max(max_inside[0], inside[0])
                    time.sleep(0.002)
                    with guard:
                        inside[0] -= 1
                        rounds[0] += 1
                finally:
                    lk.release()

        threads = [in_thread(worker, c, "w%d" % i) for i, c in enumerate([a, b, a, b])]
        for t, box in threads:
            join(t, box, "lock worker")
        eq(20, rounds[0], "rounds")
        eq(1, max_inside[0], "never two holders at once")

    @check("read_write_lock")
    def _():
        ra = a.ReadLock("/kz/rw", "ra")
        rb = b.ReadLock("/kz/rw", "rb")
        w = b.WriteLock("/kz/rw", "w")
        expect(ra.acquire(timeout=WAIT), "first reader")
        expect(rb.acquire(timeout=WAIT), "second reader shares the lock")
        expect(not try_acquire(w, 0.3), "writer waits for readers")
        rb.release()
        t, box = in_thread(lambda: w.acquire(timeout=WAIT))
        time.sleep(0.1)
        expect(t.is_alive(), "writer still waits while one reader holds")
        ra.release()
        expect(join(t, box, "writer"), "writer gets the lock after all readers leave")
        r2 = a.ReadLock("/kz/rw", "r2")
        expect(not try_acquire(r2, 0.3), "reader waits for the writer")
        w.release()
        expect(r2.acquire(timeout=WAIT), "reader after the writer")
        r2.release()

    @check("semaphore")
    def _():
        c = client()
        sa = a.Semaphore("/kz/sem", "sa", max_leases=2)
        sb = b.Semaphore("/kz/sem", "sb", max_leases=2)
        sc = c.Semaphore("/kz/sem", "sc", max_leases=2)
        expect(sa.acquire(timeout=WAIT), "first lease")
        expect(sb.acquire(timeout=WAIT), "second lease")
        eq(["sa", "sb"], sorted(sa.lease_holders()), "lease holders")
        expect(not try_acquire(sc, 0.3), "no third lease")
        t, box = in_thread(lambda: sc.acquire(timeout=WAIT))
        sa.release()
        expect(join(t, box, "third acquire"), "a lease frees up")
        eq(["sb", "sc"], sorted(sb.lease_holders()), "lease holders after the swap")
        sb.release()
        sc.release()

    @check("election")
    def _():
        ea = a.Election("/kz/election", "ea")
        eb = b.Election("/kz/election", "eb")
        led = queue.Queue()
        step_down = {"ea": threading.Event(), "eb": threading.Event()}

        def lead(name):
            led.put(name)
            step_down[name].wait(WAIT)

        ta, boxa = in_thread(ea.run, lead, "ea")
        first = take(led, "a leader")
        eq("ea", first, "the first contender leads")
        tb, boxb = in_thread(eb.run, lead, "eb")
        deadline = time.time() + WAIT
        while time.time() < deadline and len(ea.contenders()) < 2:
            time.sleep(0.05)
        eq(["ea", "eb"], ea.contenders(), "contenders")
        expect(led.empty(), "only one leader at a time")
        step_down["ea"].set()
        join(ta, boxa, "first leader's run")
        eq("eb", take(led, "the next leader"), "leadership moves on")
        step_down["eb"].set()
        join(tb, boxb, "second leader's run")

    @check("barrier")
    def _():
        ba = a.Barrier("/kz/barrier")
        bb = b.Barrier("/kz/barrier")
        ba.create()
        expect(not bb.wait(timeout=0.3), "wait times out while the barrier stands")
        t, box = in_thread(lambda: bb.wait(timeout=WAIT))
        ba.remove()
        expect(join(t, box, "barrier wait"), "wait returns once the barrier is removed")

    @check("double_barrier")
    def _():
        c = client()
        members = [cl.DoubleBarrier("/kz/dbarrier", 3, identifier="m%d" % i) for i, cl in enumerate([a, b, c])]
        entered = queue.Queue()

        def go(m, name):
            m.enter()
            entered.put(name)
            m.leave()
            return name

        t0, box0 = in_thread(go, members[0], "m0")
        t1, box1 = in_thread(go, members[1], "m1")
        time.sleep(0.2)
        expect(entered.empty(), "nobody gets in before all three arrive")
        t2, box2 = in_thread(go, members[2], "m2")
        got = sorted([take(entered, "entry") for _ in range(3)])
        eq(["m0", "m1", "m2"], got, "all three entered")
        for t, box, n in [(t0, box0, "m0"), (t1, box1, "m1"), (t2, box2, "m2")]:
            eq(n, join(t, box, n + " leave"), "left")
        eq([], a.get_children("/kz/dbarrier"), "barrier cleaned up")

    @check("queue")
    def _():
        qa = a.Queue("/kz/queue")
        qb = b.Queue("/kz/queue")
        qa.put(b"low", priority=200)
        qa.put(b"first")
        qa.put(b"second")
        qa.put(b"urgent", priority=1)
        eq(4, len(qb), "length")
        got = [qb.get() for _ in range(4)]
        eq([b"urgent", b"first", b"second", b"low"], got, "priority then FIFO order")
        eq(None, qb.get(), "empty queue")

        # Two consumers racing for the same items each get a disjoint share.
        for i in range(20):
            qa.put(b"item-%02d" % i)
        taken = {"a": [], "b": []}

        def consume(q, key):
            while True:
                v = q.get()
                if v is None:
                    return
                taken[key].append(v)

        ts = [in_thread(consume, a.Queue("/kz/queue"), "a"), in_thread(consume, qb, "b")]
        for t, box in ts:
            join(t, box, "consumer")
        everything = sorted(taken["a"] + taken["b"])
        eq([b"item-%02d" % i for i in range(20)], everything, "each item delivered exactly once")

    @check("locking_queue")
    def _():
        qa = a.LockingQueue("/kz/lqueue")
        qb = b.LockingQueue("/kz/lqueue")
        qa.put(b"one")
        qa.put_all([b"two", b"three"])
        eq(3, len(qb), "length")
        eq(b"one", qb.get(timeout=WAIT), "b takes the head")
        expect(qb.holds_lock(), "b holds the item's lock")
        eq(b"two", qa.get(timeout=WAIT), "a skips the item b has locked")
        expect(qb.consume(), "b consumes")
        expect(qa.release(), "a releases without consuming")
        eq(2, len(qa), "released item went back")
        eq(b"two", qb.get(timeout=WAIT), "released item is available again")
        expect(qb.consume(), "consume two")
        eq(b"three", qa.get(timeout=WAIT), "three")
        expect(qa.consume(), "consume three")
        eq(0, len(qb), "drained")
        eq(None, qb.get(timeout=0.3), "get on an empty queue times out")

        t, box = in_thread(lambda: qb.get(timeout=WAIT))
        time.sleep(0.1)
        qa.put(b"late")
        eq(b"late", join(t, box, "blocking get"), "a waiting get wakes on put")
        expect(qb.consume(), "consume late")

    @check("counter")
    def _():
        ca = a.Counter("/kz/counter")
        cb = b.Counter("/kz/counter")
        n = 15

        def bump(counter):
            for _ in range(n):
                counter += 1
            return counter.value

        ts = [in_thread(bump, ca), in_thread(bump, cb)]
        for t, box in ts:
            join(t, box, "counter worker")
        eq(2 * n, ca.value, "increments from both clients all count")
        cb -= 5
        eq(2 * n - 5, ca.value, "decrement")
        fc = a.Counter("/kz/fcounter", default=0.0)
        fc += 2.5
        eq(2.5, b.Counter("/kz/fcounter", default=0.0).value, "float counter")

    @check("party")
    def _():
        c = client()
        pa = a.Party("/kz/party", "alice")
        pb = b.Party("/kz/party", "bob")
        pc = c.ShallowParty("/kz/sparty", "carol")
        pa.join()
        pb.join()
        pc.join()
        eq(2, len(pa), "two members")
        eq(["alice", "bob"], sorted(pb), "members by identifier")
        eq(["carol"], list(a.ShallowParty("/kz/sparty")), "shallow party")
        pa.leave()
        eq(["bob"], list(pb), "after alice leaves")
        c.stop()
        c.close()
        clients.remove(c)
        eq([], list(a.ShallowParty("/kz/sparty")), "a member's session ending removes it")

    @check("tree_cache")
    def _():
        a.ensure_path("/kz/tree")
        a.create("/kz/tree/pre", b"p")
        events = queue.Queue()
        # Debian's kazoo 2.8 does not expose TreeCache on the client; build it directly.
        cache = TreeCache(b, "/kz/tree")

        @cache.listen
        def listener(event):
            if event.event_type in (TreeEvent.NODE_ADDED, TreeEvent.NODE_UPDATED, TreeEvent.NODE_REMOVED):
                events.put((event.event_type, event.event_data.path, event.event_data.data))
            elif event.event_type == TreeEvent.INITIALIZED:
                events.put(("init",))

        cache.start()
        initial = set()
        while True:
            ev = take(events, "initial cache events")
            if ev == ("init",):
                break
            initial.add(ev)
        eq({(TreeEvent.NODE_ADDED, "/kz/tree", b""), (TreeEvent.NODE_ADDED, "/kz/tree/pre", b"p")}, initial, "initial")
        a.create("/kz/tree/x", b"1")
        eq((TreeEvent.NODE_ADDED, "/kz/tree/x", b"1"), take(events, "add"), "add")
        a.set("/kz/tree/x", b"2")
        eq((TreeEvent.NODE_UPDATED, "/kz/tree/x", b"2"), take(events, "update"), "update")
        a.create("/kz/tree/x/y", b"deep")
        eq((TreeEvent.NODE_ADDED, "/kz/tree/x/y", b"deep"), take(events, "deep add"), "deep add")
        eq(b"deep", cache.get_data("/kz/tree/x/y").data, "cached data")
        eq({"y"}, set(cache.get_children("/kz/tree/x")), "cached children")
        a.delete("/kz/tree/x", recursive=True)
        removed = {take(events, "remove")[1], take(events, "remove")[1]}
        eq({"/kz/tree/x", "/kz/tree/x/y"}, removed, "removes")
        eq(None, cache.get_data("/kz/tree/x"), "forgotten")
        cache.close()

    @check("session_close_removes_ephemerals")
    def _():
        c = client()
        c.create("/kz/mine", ephemeral=True)
        gone = threading.Event()

        def w(event):
            if event.type == "DELETED":
                gone.set()

        expect(a.exists("/kz/mine", watch=w) is not None, "ephemeral is there")
        c.stop()
        c.close()
        clients.remove(c)
        expect(gone.wait(WAIT), "ephemeral deleted when its session closed")

    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
    timer.cancel()
    print("DONE %d" % failures, flush=True)
    sys.exit(0 if failures == 0 else 1)


if __name__ == "__main__":
    main()
