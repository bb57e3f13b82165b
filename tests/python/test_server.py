"""Tests of sushi.Server (the threaded server, docs/server.md) over ctypes.

Run by meson like test_binding.py (same environment). Prints the same
Criterion-style "Synthesis:" line."""
import inspect
import os
import sys
import threading
import unittest

import sushi
from sushi import _ffi

SMALL = "ofa-mbv3-w1.0"
MODEL = os.path.join(os.path.dirname(__file__), "..", "..", "models", "fmnist-mbv3.sushi")

try:
    import numpy as np
except ImportError:
    np = None


class ServerCostOnly(unittest.TestCase):
    """cycle backend, cost-only queries: fast, no input."""

    def setUp(self):
        self.sn = sushi.SuperNet.builtin(SMALL)

    def tearDown(self):
        self.sn.close()

    def test_tickets_every_query_answered_once(self):
        with sushi.Server(self.sn, "cycle", workers=2, queue_capacity=256) as srv:
            ts = [srv.submit(slo_s=0.01) for _ in range(100)]
            answers = [t.wait() for t in ts]
            self.assertTrue(all(st == 0 for st, _ in answers))
            self.assertTrue(all(r["candidate"] >= 0 for _, r in answers))
            srv.shutdown()
            st = srv.stats
            self.assertEqual((st["submitted"], st["answered"], st["served"]), (100, 100, 100))
            w = [srv.worker_stats(i)["queries"] for i in range(2)]
            self.assertEqual(sum(w), 100)
            with self.assertRaises(sushi.SushiError) as cm:
                srv.submit()
            self.assertEqual(cm.exception.name, "SUSHI_ERR_STATE")

    def test_callback_from_worker_threads(self):
        seen, lock = [], threading.Lock()

        def done(user, status, result):
            with lock:
                seen.append((user, status, threading.get_ident()))

        srv = sushi.Server(self.sn, "cycle", workers=2, callback=done, queue_capacity=128)
        for i in range(50):
            srv.submit(min_accuracy=0.7, user=i)
        srv.shutdown()
        self.assertEqual(sorted(u for u, _, _ in seen), list(range(50)))
        self.assertTrue(all(s == 0 for _, s, _ in seen))
        self.assertNotIn(threading.get_ident(), {t for _, _, t in seen})
        srv.close()

    def test_full_queue_raises_busy_and_close_cancels(self):
        srv = sushi.Server(self.sn, "cycle", queue_capacity=1)
        busy, tickets = 0, []
        for _ in range(2000):  # a burst from Python outruns one worker at some point
            try:
                tickets.append(srv.submit())
            except sushi.SushiError as e:
                self.assertEqual(e.name, "SUSHI_ERR_BUSY")
                busy += 1
        st = srv.stats
        self.assertEqual(st["rejected"], busy)
        self.assertEqual(st["submitted"], len(tickets))
        srv.close()
        statuses = [t.wait()[0] for t in tickets]  # tickets outlive the server
        self.assertTrue(all(s in (0, _ffi.STATUS["ERR_CANCELLED"]) for s in statuses))
        self.assertEqual(len(statuses), len(tickets))

    def test_bad_arguments(self):
        with self.assertRaises(sushi.SushiError) as cm:
            sushi.Server(self.sn, "no-such-backend")
        self.assertEqual(cm.exception.name, "SUSHI_ERR_NOT_FOUND")
        with self.assertRaises(sushi.SushiError):
            sushi.Server(self.sn, "cycle", workers=0)
        with self.assertRaises(TypeError):
            sushi.Server(self.sn, "cycle", no_such_option=1)
        with self.assertRaises(ValueError):
            sushi.Server(self.sn, "cycle", order="lifo")
        with self.assertRaises(sushi.SushiError) as cm:
            sushi.Server(self.sn, "cycle", best_effort_s=-1.0)
        self.assertEqual(cm.exception.name, "SUSHI_ERR_INVALID")
        for bad in (-0.5, 1.5, float("nan")):
            with self.assertRaises(sushi.SushiError) as cm:
                sushi.Server(self.sn, "cycle", block_miss=bad)
            self.assertEqual(cm.exception.name, "SUSHI_ERR_INVALID")
        # the binding's default is the C library's (a #define ctypes cannot read)
        hdr = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include", "sushi", "server.h")
        with open(hdr) as f:
            define = [ln.split()[2] for ln in f if ln.startswith("#define SUSHI_SERVER_BLOCK_MISS_DEFAULT ")]
        self.assertEqual(len(define), 1)
        self.assertEqual(inspect.signature(sushi.Server).parameters["block_miss"].default, float(define[0]))
        with sushi.Server(self.sn, "cycle", block_miss=0.0) as srv:  # the cap off
            st, r = srv.submit(slo_s=1.0).wait()
            self.assertEqual(st, 0)
        with sushi.Server(self.sn, "cycle", order="fifo", best_effort_s=5.0) as srv:
            st, r = srv.submit(slo_s=1.0).wait()
            self.assertEqual(st, 0)
        with sushi.Server(self.sn, "cycle") as srv:
            with self.assertRaises(sushi.SushiError) as cm:
                srv.submit(min_accuracy=2.0)
            self.assertEqual(cm.exception.name, "SUSHI_ERR_RANGE")
            with self.assertRaises(sushi.SushiError) as cm:
                srv.submit(arrival_s=srv.now() + 100.0)
            self.assertEqual(cm.exception.name, "SUSHI_ERR_INVALID")
            t = srv.submit(arrival_s=0.0, slo_s=1e-9)  # arrived at creation: SLO long gone
            st, r = t.wait()
            self.assertEqual(st, 0)
            srv.shutdown()
            self.assertEqual(srv.stats["slo_queries"], 1)
            self.assertEqual(srv.stats["e2e_slo_attainment"], 0.0)

    def test_status_codes(self):
        self.assertEqual(sushi.status_name(-18), "SUSHI_ERR_BUSY")
        self.assertEqual(sushi.status_name(-19), "SUSHI_ERR_CANCELLED")
        self.assertEqual(sushi.status_name(-20), "SUSHI_ERR_DROPPED")


@unittest.skipIf(np is None, "numpy missing")
class ServerRuns(unittest.TestCase):
    """cpu backend: queries with an input are really classified."""

    def test_outputs_match_scheduler(self):
        if "cpu" not in sushi.Backend.names(sushi.Context()) or not os.path.exists(MODEL):
            self.skipTest("cpu backend or shipped model missing")
        sn = sushi.SuperNet.load(MODEL)
        rng = np.random.default_rng(1)
        x = rng.standard_normal((1, 28, 28)).astype(np.float32)
        with sushi.Server(sn, "cpu", workers=2, mode="most_accurate") as srv:
            ts = [srv.submit(input=x) for _ in range(4)]
            res = [t.wait() for t in ts]
        with sushi.Scheduler(sn, "cpu", "sushi", mode="most_accurate") as sch:
            ref = sch.submit(input=x)
        for st, r in res:
            self.assertEqual(st, 0)
            self.assertEqual(r["candidate"], ref["candidate"])
            np.testing.assert_array_equal(r["output"], ref["output"])
        sn.close()


def main():
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    skipped = len(result.skipped)
    failing = len(result.failures) + len(result.unexpectedSuccesses)
    crashing = len(result.errors)
    passing = result.testsRun - skipped - failing - crashing
    print(f"[python] Synthesis: Tested: {result.testsRun - skipped} | Passing: {passing} | "
          f"Failing: {failing} | Crashing: {crashing}  (skipped: {skipped})")
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)


if __name__ == "__main__":
    main()
