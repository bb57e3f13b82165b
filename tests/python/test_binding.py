"""Tests of the ctypes binding (bindings/python/sushi).

Run by meson (tests/python/meson.build) with:
  SUSHI_LIBRARY       path of the built libsushi.so
  SUSHI_LAYOUT_EXE    C program printing sizeof/offsetof of the public structs
  PYTHONPATH          bindings/python
Run by hand: PYTHONPATH=bindings/python SUSHI_LIBRARY=build/libsushi.so \
  SUSHI_LAYOUT_EXE=build/tests/python/struct_layout python3 tests/python/test_binding.py

At the end it prints a Criterion-style "Synthesis:" line with the real case
counts, so scripts/count_tests.py counts each unittest case (skipped cases are
neither passed nor failed).
"""
import ctypes
import gc
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import sushi
from sushi import _ffi

SMALL = "ofa-mbv3-w1.0"  # the cheapest built-in (~0.2 s to build)

try:
    import numpy as np
except ImportError:  # the binding itself does not need numpy
    np = None


class Layout(unittest.TestCase):
    """ctypes mirrors == the C headers, checked against a compiled C program."""

    @classmethod
    def setUpClass(cls):
        exe = os.environ.get("SUSHI_LAYOUT_EXE")
        if not exe:
            raise unittest.SkipTest("SUSHI_LAYOUT_EXE not set")
        cls.c = json.loads(subprocess.run([exe], check=True, capture_output=True,
                                          text=True).stdout)

    def test_every_mirrored_struct_matches_sizeof_and_offsetof(self):
        self.assertEqual(set(self.c["structs"]), set(_ffi.STRUCTS))
        for cname, py in _ffi.STRUCTS.items():
            with self.subTest(struct=cname):
                c = self.c["structs"][cname]
                self.assertEqual(ctypes.sizeof(py), c["sizeof"])
                py_fields = [f[0] for f in py._fields_]
                self.assertEqual(set(py_fields), set(c["fields"]))
                for f in py_fields:
                    self.assertEqual(getattr(py, f).offset, c["fields"][f], f"{cname}.{f}")

    def test_size_first_structs_start_with_size(self):
        for cname, py in _ffi.STRUCTS.items():
            if cname.endswith("_ops"):
                continue
            self.assertEqual(py._fields_[0][0], "size", cname)
            self.assertEqual(_ffi.new(py).size, ctypes.sizeof(py))

    def test_status_table_matches_header(self):
        self.assertEqual(_ffi.STATUS, self.c["status"])
        for name, value in _ffi.STATUS.items():
            self.assertEqual(sushi.status_name(value), "SUSHI_" + name)

    def test_constants_match_header(self):
        k = self.c["constants"]
        for name in ("LOAD_BORROW", "LOAD_NO_VERIFY", "LOAD_CHECK_FINITE", "CONFIG_MAX_SLOTS", "CONFIG_MAX_GROUPS",
                     "BACKEND_CAP_RUN", "BACKEND_CAP_COST", "BACKEND_CAP_INT8", "WEIGHTS_AUTO",
                     "WEIGHTS_SEED", "WEIGHTS_F32", "ELASTIC_KS", "ELASTIC_E", "ELASTIC_D",
                     "ELASTIC_W", "LOG_ERROR", "LOG_WARN", "LOG_INFO", "LOG_DEBUG"):
            self.assertEqual(getattr(_ffi, name), k[name], name)
        self.assertEqual(len(_ffi.OP_NAMES), k["OP_COUNT"])
        self.assertEqual(len(_ffi.ACT_NAMES), k["ACT_COUNT"])


    def test_init_macro_defaults_and_sched_enums_match_header(self):
        self.assertEqual(_ffi.SCHED_DEFAULTS, self.c["sched_defaults"])
        c = self.c["trace_gen_defaults"]
        for k, v in _ffi.TRACE_GEN_DEFAULTS.items():
            self.assertEqual(v, c[k], k)
        self.assertEqual(set(_ffi.TRACE_GEN_DEFAULTS), set(c))
        enums = {**_ffi.SCHED_MODES, **_ffi.SCHED_FALLBACKS, **_ffi.SCHED_RELOADS,
                 **_ffi.SCHED_PARETOS}
        self.assertEqual(enums, self.c["sched_enums"])
        self.assertEqual(_ffi.SCHED_LATES, self.c["sched_late"])
        self.assertEqual(_ffi.SCHED_ADAPTS, self.c["sched_adapt"])
        self.assertEqual(_ffi.BACKEND_CAP_MEASURED, self.c["backend_cap_measured"])


class Basics(unittest.TestCase):
    def test_version_matches_number(self):
        parts = [int(p) for p in sushi.version().split(".")]
        self.assertEqual(sushi.version_number(), (parts[0] << 16) | (parts[1] << 8) | parts[2])

    def test_builtin_names_lists_the_three_ofa_families(self):
        self.assertEqual(set(sushi.builtin_names()),
                         {"ofa-mbv3-w1.0", "ofa-mbv3-w1.2", "ofa-resnet50"})

    def test_status_helpers_know_unknown_values(self):
        self.assertEqual(sushi.status_name(12345), "SUSHI_UNKNOWN")
        self.assertEqual(sushi.status_str(-2), "out of memory")


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sn = sushi.SuperNet.builtin(SMALL)

    @classmethod
    def tearDownClass(cls):
        cls.sn.close()

    def test_unknown_builtin_raises_not_found(self):
        with self.assertRaises(sushi.SushiError) as cm:
            sushi.SuperNet.builtin("no-such-net")
        e = cm.exception
        self.assertEqual(e.status, _ffi.STATUS["ERR_NOT_FOUND"])
        self.assertEqual(e.name, "SUSHI_ERR_NOT_FOUND")
        self.assertEqual(e.function, "sushi_supernet_builtin")
        self.assertIn("SUSHI_ERR_NOT_FOUND", str(e))

    def test_bad_config_carries_errbuf_message(self):
        d = self.sn.config("min").to_dict()
        d["ks"][3] = 4  # not a kernel choice
        with self.assertRaises(sushi.SushiError) as cm:
            self.sn.config(d)
        e = cm.exception
        self.assertEqual(e.name, "SUSHI_ERR_CONFIG")
        self.assertEqual(e.function, "sushi_config_parse")
        self.assertIn("ks[3]", e.message)
        self.assertNotEqual(e.message, sushi.status_str(e.status))  # the detail, not the generic text

    def test_missing_file_raises_io_error(self):
        with self.assertRaises(sushi.SushiError) as cm:
            sushi.SuperNet.load("/nonexistent/dir/x.sushi")
        self.assertEqual(cm.exception.name, "SUSHI_ERR_IO")

    def test_garbage_bytes_raise_format_error_with_message(self):
        with self.assertRaises(sushi.SushiError) as cm:
            sushi.SuperNet.load_bytes(b"\x00not a sushi file at all\xff" * 4)
        self.assertIn(cm.exception.name, ("SUSHI_ERR_FORMAT", "SUSHI_ERR_VERSION"))
        self.assertTrue(cm.exception.message)

    def test_unknown_backend_and_policy_raise_not_found(self):
        for make in (self.sn.backend, self.sn.policy):
            with self.assertRaises(sushi.SushiError) as cm:
                make("definitely-not-registered")
            self.assertEqual(cm.exception.name, "SUSHI_ERR_NOT_FOUND")

    def test_backend_param_errors(self):
        with self.sn.backend("null") as b:
            with self.assertRaises(sushi.SushiError) as cm:
                b.set_param("no_such_key", 1.0)
            self.assertEqual(cm.exception.name, "SUSHI_ERR_NOT_FOUND")
            with self.assertRaises(sushi.SushiError) as cm:
                b.set_param("ns_per_mac", -1.0)
            self.assertEqual(cm.exception.name, "SUSHI_ERR_RANGE")

    def test_candidate_out_of_range(self):
        with self.assertRaises(sushi.SushiError) as cm:
            self.sn.candidate(10 ** 6)
        self.assertEqual(cm.exception.name, "SUSHI_ERR_RANGE")

    def test_configuring_a_used_context_raises_state(self):
        with sushi.Context() as ctx, ctx.builtin(SMALL):
            with self.assertRaises(sushi.SushiError) as cm:
                ctx.set_log(lambda lvl, msg: None)
            self.assertEqual(cm.exception.name, "SUSHI_ERR_STATE")


class SuperNets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sn = sushi.SuperNet.builtin(SMALL)

    @classmethod
    def tearDownClass(cls):
        cls.sn.close()

    def test_info_describes_a_synthetic_mbv3(self):
        info = self.sn.info
        self.assertEqual(info["name"], SMALL)
        self.assertEqual(info["family"], "mbv3")
        self.assertIs(info["synthetic"], True)
        self.assertIn("SYNTHETIC", info["provenance"].upper())
        self.assertEqual(info["n_ks"], 20)
        self.assertEqual(info["n_e"], 20)
        self.assertEqual(info["n_d"], 5)
        self.assertEqual(len(self.sn.resolutions), info["n_resolutions"])
        self.assertIn(info["default_resolution"], self.sn.resolutions)
        self.assertEqual(len(self.sn.units), info["n_units"])
        self.assertEqual(len(self.sn.tensor_names), info["n_tensors"])

    def test_choices_are_ofa_mbv3(self):
        self.assertEqual(self.sn.choices("ks", 0), [3.0, 5.0, 7.0])
        self.assertEqual(self.sn.choices("e", 0), [3.0, 4.0, 6.0])
        self.assertEqual(self.sn.choices("d", 0), [2.0, 3.0, 4.0])

    def test_input_norm_is_imagenet(self):
        mean, std = self.sn.input_norm
        self.assertEqual(len(mean), 3)
        self.assertAlmostEqual(mean[0], 0.485, places=6)
        self.assertAlmostEqual(std[2], 0.225, places=6)

    @unittest.skipIf(np is None, "numpy not installed")
    def test_candidate_int8_ranges_are_read_from_the_file(self):
        self.assertIsNone(self.sn.candidate_int8_ranges(0))  # built-ins store none
        with self.assertRaises(sushi.SushiError):
            self.sn.candidate_int8_ranges(10 ** 6)
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "fmnist-mbv3.sushi")
        with sushi.SuperNet.load(path) as fm:  # the shipped model stores them (sushi calibrate)
            c0 = fm.candidate(0)
            r = fm.candidate_int8_ranges(0)
            self.assertEqual(r.dtype, np.float32)
            with fm.subnet(c0["config"]) as s:
                self.assertEqual(r.size, sushi.cpu.int8_ranges_len(s))
            self.assertTrue(np.all(np.isfinite(r)))
            self.assertTrue(np.all(r[0::2] <= r[1::2]))

    @unittest.skipIf(np is None, "numpy not installed")
    def test_input_from_u8_normalises_and_resizes(self):
        mean, std = self.sn.input_norm
        r = self.sn.resolutions[0]
        px = (np.arange(r * r * 3) * 37 % 256).astype(np.uint8).reshape(r, r, 3)
        x = self.sn.input_from_u8(px, r)
        self.assertEqual(x.shape, (3, r, r))
        want = (px.astype(np.float32) / np.float32(255.0) - np.float32(mean[1])) / np.float32(std[1])
        np.testing.assert_array_equal(x[1], want[:, :, 1])
        big = self.sn.input_from_u8(px, self.sn.resolutions[-1])
        self.assertEqual(big.shape[1], self.sn.resolutions[-1])
        self.assertTrue(np.isfinite(big).all())
        # a constant image stays constant through the bilinear resize
        flat = self.sn.input_from_u8(np.full((50, 70, 3), 200, np.uint8), r)
        self.assertTrue(np.allclose(flat[0], flat[0, 0, 0], atol=1e-6))
        with self.assertRaises(sushi.SushiError) as cm:
            self.sn.input_from_u8(px, r + 1)
        self.assertEqual(cm.exception.name, "SUSHI_ERR_RANGE")
        with self.assertRaises(sushi.SushiError):
            self.sn.input_from_u8(px[:, :, :1], r)  # wrong channel count

    def test_candidates_round_trip_through_find_and_subnet(self):
        cands = self.sn.candidates
        self.assertEqual(len(cands), self.sn.info["n_candidates"])
        self.assertGreater(len(cands), 0)
        for c in cands[:: max(1, len(cands) // 8)]:
            self.assertEqual(self.sn.find_candidate(c["config"]), c["index"])
            self.assertTrue(0.0 <= c["accuracy"] <= 1.0 or math.isnan(c["accuracy"]))
            self.assertIn(c["accuracy_source"], ("measured", "proxy", "none"))
            with self.sn.subnet(c["index"]) as s:
                st = s.stats
                self.assertEqual(st["candidate"], c["index"])
                self.assertEqual(st["macs"], c["macs"])
                self.assertEqual(st["weight_bytes"], c["weight_bytes"])

    def test_config_print_parse_round_trip(self):
        for spec in ("min", "max", "min@160", "max@224"):
            cfg = self.sn.config(spec)
            again = self.sn.config(str(cfg))
            self.assertEqual(cfg, again)
            self.assertEqual(hash(cfg), hash(again))
            self.assertEqual(self.sn.config(cfg.to_dict()), cfg)
        self.assertEqual(self.sn.config("min@160").resolution, 160)
        self.assertEqual(self.sn.config("min", resolution=192).resolution, 192)
        self.assertNotEqual(self.sn.config("min"), self.sn.config("max"))
        self.assertEqual(self.sn.extreme_config(True), self.sn.config("max"))

    def test_config_fields_follow_ofa_arch_dict(self):
        d = self.sn.config("max@224").to_dict()
        cfg = self.sn.config(d)
        self.assertEqual(cfg.ks, d["ks"])
        self.assertEqual(cfg.e, [float(v) for v in d["e"]])
        self.assertEqual(cfg.d, d["d"])
        self.assertEqual(set(cfg.ks), {7})
        self.assertEqual(cfg.resolution, 224)

    def test_save_and_load_bytes_copy_and_borrow(self):
        blob = self.sn.to_bytes()
        self.assertGreater(len(blob), 0)
        ref = self.sn.candidate(0)
        for borrow in (False, True):
            for buf in (blob, bytearray(blob)):
                with sushi.SuperNet.load_bytes(buf, borrow=borrow) as sn2:
                    self.assertEqual(sn2.info["name"], SMALL)
                    c = sn2.candidate(0)
                    self.assertEqual(str(c["config"]), str(ref["config"]))
                    self.assertEqual(c["macs"], ref["macs"])

    def test_borrowed_buffer_outlives_the_callers_reference(self):
        buf = bytearray(self.sn.to_bytes())
        sn2 = sushi.SuperNet.load_bytes(buf, borrow=True)
        s = sn2.subnet("max")
        with self.assertRaises(BufferError):  # resizing is locked while borrowed
            buf.extend(b"x")
        del buf, sn2
        gc.collect()
        self.assertGreater(s.stats["macs"], 0)
        s.close()

    def test_save_file_and_load_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "small.sushi")
            self.sn.save(path)
            with sushi.SuperNet.load(path) as sn2:
                self.assertEqual(sn2.info["n_candidates"], self.sn.info["n_candidates"])
                a, b = self.sn.subnet("max"), sn2.subnet("max")
                self.assertEqual(a.stats["macs"], b.stats["macs"])


class SubNets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sn = sushi.SuperNet.builtin(SMALL)
        cls.small = cls.sn.subnet("min@160")
        cls.big = cls.sn.subnet("max@224")

    @classmethod
    def tearDownClass(cls):
        cls.sn.close()  # the SubNets stay valid: the C library keeps the SuperNet alive

    def test_layers_add_up_to_stats(self):
        for s in (self.small, self.big):
            st, layers = s.stats, s.layers
            self.assertEqual(len(layers), st["n_layers"])
            self.assertEqual(sum(li["macs"] for li in layers), st["macs"])
            self.assertEqual(sum(li["weight_bytes"] for li in layers), st["weight_bytes"])
            self.assertEqual(layers[0]["input"], 0)
            self.assertEqual(layers[-1]["op"], "linear")
            self.assertEqual(layers[-1]["out_c"], self.sn.info["num_classes"])

    def test_bigger_subnet_costs_more(self):
        self.assertLess(self.small.stats["macs"], self.big.stats["macs"])
        self.assertLess(self.small.stats["weight_bytes"], self.big.stats["weight_bytes"])
        self.assertEqual(self.small.config, self.sn.config("min@160"))


class SubGraphs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sn = sushi.SuperNet.builtin(SMALL)
        cls.small = cls.sn.subnet("min")
        cls.big = cls.sn.subnet("max")
        cls.mid = cls.sn.subnet(len(cls.sn.candidates) // 2)

    @classmethod
    def tearDownClass(cls):
        for o in (cls.small, cls.big, cls.mid, cls.sn):
            o.close()

    def test_subgraph_of_subnet_holds_exactly_its_weights(self):
        with sushi.SubGraph.of(self.mid) as g:
            wb = self.mid.stats["weight_bytes"]
            self.assertEqual(g.bytes, wb)
            self.assertEqual(g.hit(self.mid), wb)
            self.assertTrue(g.contains(self.mid))
            self.assertEqual(len(g), self.sn.info["n_tensors"])

    def test_common_is_inside_both(self):
        with sushi.SubGraph.common(self.small, self.big) as g:
            self.assertGreater(g.bytes, 0)
            self.assertEqual(g.hit(self.small), g.bytes)
            self.assertEqual(g.hit(self.big), g.bytes)
            # k3 depthwise filters are stored apart from the k7 ones (pre-materialised),
            # so min and max share less than all of min
            self.assertLess(g.bytes, self.small.stats["weight_bytes"])

    def test_common_of_a_prefix_subnet_is_that_subnet(self):
        # OFA shares by prefixes: min depth/expand with the largest kernels lies inside max
        d = self.sn.config("min@224").to_dict()
        d["ks"] = [7] * len(d["ks"])
        with self.sn.subnet(d) as inner, sushi.SubGraph.common(inner, self.big) as g:
            self.assertEqual(g.bytes, inner.stats["weight_bytes"])
            self.assertTrue(sushi.SubGraph.of(self.big).contains(g))
            self.assertTrue(g.contains(inner))

    def test_hit_never_exceeds_either_side(self):
        g = sushi.SubGraph.common(self.mid, self.big)
        self.assertLessEqual(g.hit(self.small), min(g.bytes, self.small.stats["weight_bytes"]))
        self.assertLessEqual(g.bytes, self.mid.stats["weight_bytes"])
        g.close()

    def test_truncate_respects_budget(self):
        g = sushi.SubGraph.of(self.big)
        full = g.bytes
        budget = full // 3
        self.assertLessEqual(g.truncate(budget).bytes, budget)
        self.assertGreater(g.bytes, 0)
        self.assertEqual(g.truncate(0).bytes, 0)
        self.assertEqual(sushi.SubGraph.of(self.big).truncate(full * 2).bytes, full)

    def test_copy_clear_and_boxes(self):
        g = sushi.SubGraph.of(self.mid)
        h = g.copy()
        self.assertEqual(h.bytes, g.bytes)
        g.clear()
        self.assertEqual(g.bytes, 0)
        self.assertEqual(h.hit(self.mid), self.mid.stats["weight_bytes"])
        out_ch, in_ch, area = h.box(0)
        self.assertGreater(out_ch * in_ch * area, 0)
        g.set_box(0, out_ch, in_ch)
        self.assertEqual(g.bytes, out_ch * in_ch * area)


class Backends(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sn = sushi.SuperNet.builtin(SMALL)
        cls.s = cls.sn.subnet("min@128")

    @classmethod
    def tearDownClass(cls):
        cls.s.close()
        cls.sn.close()

    def test_null_backend_is_registered(self):
        self.assertIn("null", self.sn.context.backends)
        self.assertIn("test-first", self.sn.context.policies)

    def test_null_cost_counts_macs_and_hits(self):
        with self.sn.backend("null") as b:
            self.assertEqual(b.name, "null")
            self.assertTrue({"run", "cost"} <= b.caps)
            macs, wb = self.s.stats["macs"], self.s.stats["weight_bytes"]
            c = b.cost(self.s)
            self.assertEqual(c["macs"], macs)
            self.assertEqual(c["hit_bytes"], 0)
            self.assertEqual(c["weight_bytes"], wb)
            self.assertAlmostEqual(c["latency_s"], macs * 1e-9, delta=macs * 1e-15)
            b.set_param("ns_per_mac", 2.0)
            self.assertEqual(b.get_param("ns_per_mac"), 2.0)
            self.assertAlmostEqual(b.cost(self.s)["latency_s"], 2 * c["latency_s"],
                                   delta=1e-12)
            with sushi.SubGraph.of(self.s).truncate(wb // 2) as g:
                c2 = b.cost(self.s, g)
                self.assertEqual(c2["hit_bytes"], g.hit(self.s))
                self.assertEqual(c2["weight_bytes"], wb - g.hit(self.s))
                reload = b.set_resident(g)
                self.assertEqual(reload["offchip_bytes"], g.bytes)
            b.set_resident(None)

    @unittest.skipIf(np is None, "numpy not installed")
    def test_null_run_returns_logits_of_the_right_shape(self):
        info = self.sn.info
        r = self.s.config.resolution
        with self.sn.backend("null") as b:
            x = np.ones((info["in_channels"], r, r), dtype=np.float64)  # converted to float32
            y, cost = b.run(self.s, x, with_cost=True)
            self.assertEqual(y.shape, (info["num_classes"],))
            self.assertEqual(y.dtype, np.float32)
            self.assertEqual(cost["macs"], self.s.stats["macs"])
            yb = b.run(self.s, np.stack([x, x, x]))
            self.assertEqual(yb.shape, (3, info["num_classes"]))
            with self.assertRaises(ValueError):
                b.run(self.s, np.zeros((info["in_channels"], r, r + 1)))

    @unittest.skipIf(np is None, "numpy not installed")
    def test_cpu_run_gives_finite_deterministic_logits(self):
        if "cpu" not in self.sn.context.backends:
            self.skipTest("cpu backend not built")
        r = self.s.config.resolution
        rng = np.random.default_rng(1)
        x = rng.standard_normal((self.sn.info["in_channels"], r, r)).astype(np.float32)
        with self.sn.backend("cpu") as b:
            y1 = b.run(self.s, x)
            y2 = b.run(self.s, x)
        self.assertTrue(np.all(np.isfinite(y1)))
        self.assertGreater(float(np.abs(y1).max()), 0.0)
        np.testing.assert_array_equal(y1, y2)


FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "format", "tiny-v1.sushi")


@unittest.skipIf(np is None, "numpy not installed")
class Cpu(unittest.TestCase):
    """sushi.cpu (cpu.h) on the format tests' tiny fixture (1x28x28, 10 classes)."""

    @classmethod
    def setUpClass(cls):
        import sushi.cpu
        cls.cpu = sushi.cpu
        if not sushi.cpu.available():
            raise unittest.SkipTest("libsushi built without the cpu backend")
        if not os.path.exists(FIXTURE):
            raise unittest.SkipTest(f"{FIXTURE} missing")
        cls.sn = sushi.SuperNet.load(FIXTURE)
        cls.s = cls.sn.subnet("max")
        cls.x = np.random.default_rng(0).standard_normal((16, 1, 28, 28)).astype(np.float32)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()
        cls.sn.close()

    def test_threads_round_trip(self):
        n = self.cpu.get_threads()
        self.assertGreaterEqual(n, 1)
        self.cpu.set_threads(1)
        self.assertEqual(self.cpu.get_threads(), 1)
        self.cpu.set_threads(n)
        with self.assertRaises(sushi.SushiError) as cm:
            self.cpu.set_threads(0)
        self.assertEqual(cm.exception.name, "SUSHI_ERR_RANGE")

    def test_memory_plan_is_known_before_running(self):
        m = self.cpu.memory_plan(self.s)
        self.assertEqual(set(m), {"arena_bytes", "scratch_bytes", "unplanned_bytes",
                                  "int8_arena_bytes", "int8_scratch_bytes"})
        self.assertGreater(m["arena_bytes"], 0)
        self.assertLessEqual(m["arena_bytes"], m["unplanned_bytes"])
        self.assertEqual(self.cpu.arena_bytes(self.s), m["arena_bytes"] + m["scratch_bytes"])

    def test_recalibrated_subnet_keeps_its_config(self):
        with self.cpu.recalibrate_bn(self.s, self.x, batch=8) as s2:
            self.assertEqual(s2.config, self.s.config)
            self.assertEqual(s2.stats["macs"], self.s.stats["macs"])
            with self.sn.backend("cpu") as b:
                self.assertFalse(np.array_equal(b.run(s2, self.x[0]), b.run(self.s, self.x[0])))
        with self.assertRaises(ValueError):
            self.cpu.recalibrate_bn(self.s, self.x[:, :, :27, :27])

    def test_int8_run_needs_ranges_then_tracks_float(self):
        ranges = self.cpu.calibrate_int8(self.s, self.x)
        self.assertEqual(ranges.size, self.cpu.int8_ranges_len(self.s))
        self.assertTrue(np.all(np.isfinite(ranges)))
        with self.sn.backend("cpu") as b:
            self.assertIn("int8", b.caps)
            with self.assertRaises(sushi.SushiError) as cm:
                b.run(self.s, self.x[0], int8=True)
            self.assertEqual(cm.exception.name, "SUSHI_ERR_STATE")
            self.cpu.set_int8_ranges(b, self.s, ranges)
            yq, costs = b.run(self.s, self.x[:4], int8=True, with_cost=True)
            yf = b.run(self.s, self.x[:4])
        self.assertEqual(yq.shape, (4, 10))
        self.assertEqual(len(costs), 4)
        # stated tolerance: int8 logits within 15 % of the largest float32 logit
        scale = float(np.abs(yf).max())
        self.assertLess(float(np.abs(yq - yf).max()), 0.15 * scale)


class Policies(unittest.TestCase):
    def test_test_first_policy_keeps_the_first_window_subnet(self):
        with sushi.SuperNet.builtin(SMALL) as sn:
            a, b = sn.subnet("min"), sn.subnet("max")
            with sn.policy("test-first") as p:
                self.assertEqual(p.name, "test-first")
                p.observe(a)
                p.observe(b)
                cap = 1 << 30
                with p.choose(cap, window=[a, b], candidates=[a, b]) as g:
                    self.assertEqual(g.bytes, a.stats["weight_bytes"])
                budget = a.stats["weight_bytes"] // 2
                with p.choose(budget, window=[b, a]) as g:
                    self.assertLessEqual(g.bytes, budget)
                    self.assertGreater(g.hit(b), 0)
                with p.choose(cap) as g:
                    self.assertEqual(g.bytes, 0)


@unittest.skipUnless(_ffi.has("sushi_sched_create"), "libsushi without the scheduler")
class Scheduling(unittest.TestCase):
    """Scheduler and Trace (sched.h, trace.h) on the null backend."""

    @classmethod
    def setUpClass(cls):
        cls.sn = sushi.SuperNet.builtin(SMALL)

    @classmethod
    def tearDownClass(cls):
        cls.sn.close()

    def test_trace_generate_is_deterministic_and_indexable(self):
        a = sushi.Trace.generate(seed=3, n_queries=200, n_regimes=3, dwell=20.0)
        b = sushi.Trace.generate(seed=3, n_queries=200, n_regimes=3, dwell=20.0)
        self.assertEqual(len(a), 200)
        self.assertEqual(list(a), list(b))
        times = [e["t_s"] for e in a]
        self.assertEqual(times, sorted(times))
        self.assertEqual(a[-1], a[199])
        with self.assertRaises(IndexError):
            a[200]
        for e in a:
            self.assertTrue(e["slo_s"] > 0 or e["min_accuracy"] > 0)
            self.assertIn(e["label"], (0, 1, 2))
        with self.assertRaises(TypeError):
            sushi.Trace.generate(no_such_option=1)
        with self.assertRaises(sushi.SushiError) as cm:
            sushi.Trace.generate(dwell=0.5)
        self.assertEqual(cm.exception.name, "SUSHI_ERR_INVALID")

    def test_trace_csv_round_trip_and_errors(self):
        t = sushi.Trace.from_entries([(0.0, 0.75, 0.0), (0.5, 0.0, 0.02, 1),
                                      {"t_s": 1.0, "slo_s": 0.01}])
        self.assertEqual(len(t), 3)
        self.assertEqual(t[1]["label"], 1)
        self.assertEqual(t[0]["label"], -1)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.csv")
            t.save_csv(path)
            self.assertEqual(list(sushi.Trace.load_csv(path)), list(t))
            with open(path, "w") as f:
                f.write("t_s,min_accuracy,slo_s\n0,0.5,0.01\n0,abc,0.01\n")
            with self.assertRaises(sushi.SushiError) as cm:
                sushi.Trace.load_csv(path)
            self.assertIn("3", cm.exception.message)  # names the line
        with self.assertRaises(sushi.SushiError):
            sushi.Trace.from_entries([(1.0, 0.5, 0.0), (0.5, 0.5, 0.0)])  # time goes back

    def test_submit_honours_slo_and_floor(self):
        with sushi.Scheduler(self.sn, "null", "sushi", window=10, pb_bytes=2 << 20) as s:
            info = s.info
            self.assertEqual((info["backend"], info["policy"]), ("null", "sushi"))
            self.assertEqual(info["pb_bytes"], 2 << 20)
            cands = s.candidates
            self.assertEqual(len(cands), info["n_candidates"])
            accs = [c["accuracy"] for c in cands]
            self.assertEqual(accs, sorted(accs, reverse=True))
            slo = (info["latency_min_s"] + info["latency_max_s"]) / 2
            r = s.submit(slo_s=slo)
            self.assertTrue(r["slo_met"])
            self.assertLessEqual(r["latency_s"], slo)
            self.assertIsInstance(r["config"], sushi.Config)
            self.assertEqual(self.sn.find_candidate(r["config"]), r["candidate"])
            floor = (info["accuracy_min"] + info["accuracy_max"]) / 2
            r = s.submit(min_accuracy=floor)
            self.assertTrue(r["accuracy_met"])
            self.assertGreaterEqual(r["accuracy"], floor)
            r = s.submit(slo_s=info["latency_min_s"] / 10)  # nothing can meet it
            self.assertTrue(r["fallback"])
            self.assertFalse(r["slo_met"])
            self.assertEqual(s.stats["queries"], 3)
            self.assertEqual(s.stats["fallbacks"], 1)

    def test_serving_a_local_stream_hits_the_resident_subgraph(self):
        probe = sushi.Scheduler(self.sn, "null", "none", pb_bytes=0)
        info = probe.info
        probe.close()
        trace = sushi.Trace.generate(seed=5, n_queries=300, n_regimes=2, dwell=100.0,
                                     acc_lo=info["accuracy_min"], acc_hi=info["accuracy_max"],
                                     slo_lo_s=info["latency_min_s"] * 1.05,
                                     slo_hi_s=info["latency_max_s"])
        hits = {}
        for policy in ("none", "sushi"):
            with sushi.Scheduler(self.sn, "null", policy, window=20, pb_bytes=2 << 20) as s:
                st, results = s.serve(trace, results=True)
                self.assertEqual(st["queries"], 300)
                self.assertEqual(len(results), 300)
                self.assertEqual(st["hit_bytes"], sum(r["hit_bytes"] for r in results))
                self.assertLessEqual(s.resident().bytes, 2 << 20)
                hits[policy] = st["pb_hit_ratio"]
        self.assertEqual(hits["none"], 0.0)
        self.assertGreater(hits["sushi"], 0.0)

    @unittest.skipIf(np is None, "numpy not installed")
    def test_submit_with_input_runs_the_backend(self):
        with sushi.Scheduler(self.sn, "null", "none", pb_bytes=0) as s:
            r0 = s.submit(min_accuracy=0.0)
            res = r0["config"].resolution
            x = np.zeros((3, res, res), np.float32)
            # no constraint: the most accurate candidate, at the same resolution again
            r = s.submit(input=x)
            self.assertTrue(r["ran"])
            self.assertEqual(r["output"].shape, (1000,))

    def test_borrowed_backend_and_policy_outlive_an_early_close(self):
        alloc = CountingAllocator()
        ctx = alloc.context()
        sn = ctx.builtin(SMALL)
        b, p = sn.backend("null"), sn.policy("sushi")
        s = sushi.Scheduler(sn, b, p, window=5, pb_bytes=1 << 20)
        b.close()
        p.close()  # deferred: the scheduler still drives them
        ctx.close()
        sn.close()
        for _ in range(12):
            s.submit(slo_s=1.0)
        self.assertEqual(s.stats["queries"], 12)
        with self.assertRaises(sushi.SushiError):
            b.cost(s.supernet.subnet("min"))  # closed for Python all the same
        s.close()
        gc.collect()
        self.assertEqual(alloc.live, set())

    def test_lookahead_feeds_the_oracle(self):
        if "oracle" not in self.sn.context.policies:
            self.skipTest("no oracle policy")
        trace = sushi.Trace.generate(seed=9, n_queries=60, n_regimes=2, dwell=30.0)
        with sushi.Scheduler(self.sn, "null", "oracle", window=10, pb_bytes=2 << 20) as s:
            s.set_lookahead(trace)
            st = s.serve(trace)
            self.assertEqual(st["queries"], 60)
            s.set_lookahead(None)


class Profiles(unittest.TestCase):
    """Latency profiles and end-to-end deadlines (profile.h, sched.h 0.3) on the null backend."""

    def test_profile_measure_round_trip_and_scheduler(self):
        with sushi.SuperNet.builtin(SMALL) as sn, sn.backend("null") as b:
            p = sushi.Profile.measure(b, warmup=0, reps=3)
            info = p.info
            self.assertEqual(info["backend"], "null")
            self.assertEqual(info["supernet_hash"], sushi.Profile.supernet_hash(sn))
            self.assertEqual(info["reps"], 3)
            self.assertEqual(len(p.entries), sn.info["n_candidates"])
            e = p.entries[0]
            self.assertLessEqual(e["p50_s"], e["p99_s"])
            self.assertEqual(p.quantile(0, 1.0), e["max_s"])
            q = sushi.Profile.from_bytes(p.to_bytes(), sn.context)
            self.assertEqual(q.to_bytes(), p.to_bytes())
            p.check(b)
            with sushi.Scheduler(sn, b, "none", profile=p, late="drop", adapt="off") as s:
                c0 = s.candidates[0]
                self.assertAlmostEqual(c0["predicted_s"], p.quantile(c0["table_index"], 0.99),
                                       delta=1e-15)
                r = s.submit(slo_s=1e-12, arrival_s=1.0, start_s=2.0)
                self.assertTrue(r["dropped"])
                self.assertEqual(r["candidate"], -1)
                self.assertAlmostEqual(r["e2e_s"], 1.0)
                st = s.stats
                self.assertEqual(st["dropped"], 1)
                self.assertEqual(st["e2e_slo_attainment"], 0.0)
            with self.assertRaises(sushi.SushiError):
                sushi.Profile.from_bytes(b"\xa0")
            q.close()
            p.close()


class CountingAllocator:
    """Allocator hooks that count live blocks, to prove handles are freed."""

    def __init__(self):
        libc = ctypes.CDLL(None)
        self.malloc, self.realloc, self.free = libc.malloc, libc.realloc, libc.free
        self.malloc.restype = self.realloc.restype = ctypes.c_void_p
        self.malloc.argtypes = [ctypes.c_size_t]
        self.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self.free.argtypes = [ctypes.c_void_p]
        self.live = set()
        M = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
        R = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
        F = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
        self.cbs = (M(self._m), R(self._r), F(self._f))
        self.c = _ffi.new(_ffi.Allocator, malloc_fn=ctypes.cast(self.cbs[0], ctypes.c_void_p),
                          realloc_fn=ctypes.cast(self.cbs[1], ctypes.c_void_p),
                          free_fn=ctypes.cast(self.cbs[2], ctypes.c_void_p))

    def _m(self, _u, n):
        p = self.malloc(n)
        if p:
            self.live.add(p)
        return p

    def _r(self, _u, p, n):
        q = self.realloc(p, n)
        if q:
            self.live.discard(p)
            self.live.add(q)
        return q

    def _f(self, _u, p):
        if p:
            self.live.discard(p)
            self.free(p)

    def context(self):
        out = ctypes.c_void_p()
        rc = _ffi.lib.sushi_context_create(ctypes.byref(self.c), ctypes.byref(out))
        if rc:
            raise sushi.SushiError(rc)
        return sushi.Context._adopt(out.value, keep=self)


class Lifetimes(unittest.TestCase):
    """Every handle is freed, whatever the order of close() or collection."""

    def make_all(self, alloc):
        ctx = alloc.context()
        sn = ctx.builtin(SMALL)
        s = sn.subnet("min@128")
        g = sushi.SubGraph.of(s)
        b = sn.backend("null")
        p = sn.policy("test-first")
        return {"ctx": ctx, "sn": sn, "s": s, "g": g, "b": b, "p": p}

    def test_close_in_every_order_frees_everything(self):
        alloc = CountingAllocator()
        names = ["ctx", "sn", "s", "g", "b"]
        for order in itertools.permutations(names):
            objs = self.make_all(alloc)
            objs["p"].close()
            self.assertTrue(alloc.live)
            for i, name in enumerate(order):
                objs[name].close()
                # whatever is still open keeps working
                if not objs["b"].closed and not objs["s"].closed:
                    self.assertGreater(objs["b"].cost(objs["s"])["macs"], 0)
                if not objs["g"].closed and not objs["s"].closed:
                    self.assertGreater(objs["g"].hit(objs["s"]), 0)
            self.assertEqual(alloc.live, set(), f"leak after closing in order {order}")

    def test_garbage_collection_in_any_order_frees_everything(self):
        alloc = CountingAllocator()
        for order in (["ctx", "sn", "s", "g", "b", "p"], ["p", "b", "g", "s", "sn", "ctx"],
                      ["sn", "b", "ctx", "p", "s", "g"]):
            objs = self.make_all(alloc)
            objs["cycle"] = objs  # a reference cycle: finalisation order is up to the collector
            for name in order:
                del objs[name]
            del objs
            gc.collect()
            self.assertEqual(alloc.live, set(), f"leak after dropping in order {order}")

    def test_double_close_and_use_after_close(self):
        sn = sushi.SuperNet.builtin(SMALL)
        s = sn.subnet("min")
        s.close()
        s.close()  # harmless
        with self.assertRaises(sushi.SushiError) as cm:
            _ = s.stats
        self.assertEqual(cm.exception.name, "SUSHI_ERR_STATE")
        with sn:
            pass
        self.assertTrue(sn.closed)
        with self.assertRaises(sushi.SushiError):
            sn.subnet("min")
        sn.close()

    def test_log_callback_survives_its_context_wrapper(self):
        msgs = []
        ctx = sushi.Context()
        ctx.set_log(lambda lvl, m: msgs.append((lvl, m)), sushi.LOG_DEBUG)
        sn = ctx.builtin(SMALL)
        ctx.close()
        del ctx
        gc.collect()
        with self.assertRaises(sushi.SushiError):
            sn.config('{"ks": 4}')  # may log; the callback must still be valid
        s = sn.subnet("max")
        self.assertGreater(s.stats["macs"], 0)
        for lvl, m in msgs:
            self.assertIsInstance(m, str)
            self.assertIn(lvl, (0, 1, 2, 3))
        sn.close()
        s.close()


# ------------------------------------------------ builder (sushi.builder, docs/bring-your-own.md)
def _cpu_available():
    import sushi.cpu
    return sushi.cpu.available()


def _small_builder(rule="floor", divisor=4):
    from sushi.builder import Builder
    b = Builder("test-byo-cnn", num_classes=10, channels=1, mean=[0.5], std=[0.25], resolutions=[12, 16])
    b.elastic(ks=[3, 5], e=[2, 3])
    g = b.depth_group([1, 2])
    b.conv("stem", 1, 8, kernel=3, stride=2, act="relu", bn=True)
    b.mbconv("blocks.0", 8, 12, stride=2, elastic_ks=True, elastic_e=True, mid_round=rule,
             mid_divisor=divisor, dgroup=g)
    b.mbconv("blocks.1", 12, 12, elastic_ks=True, elastic_e=True, residual=True, se=True,
             mid_round=rule, mid_divisor=divisor, dgroup=g)
    b.gap("pool", 12)
    b.linear("classifier", 12, 10)
    return b


def _random_state_dict(b, seed=0):
    rng = np.random.default_rng(seed)
    sd = {}
    for n, shape in b.tensor_table():
        a = (rng.standard_normal(shape) * 0.1).astype(np.float32)
        sd[n] = np.abs(a) + 0.5 if n.endswith("running_var") else a
    return sd


@unittest.skipIf(np is None, "numpy not installed")
class Builders(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "net.sushi")

    def tearDown(self):
        self.dir.cleanup()

    def test_hidden_width_rules_match_format_examples(self):
        from sushi.builder import hidden_width, make_divisible
        # docs/format.md 4.3.1 and 4.4 examples
        self.assertEqual([make_divisible(v) for v in (18, 20, 12, 3)], [24, 24, 16, 8])
        self.assertEqual(hidden_width(40, 3), 120)
        self.assertEqual(hidden_width(256, 0.35), 88)
        self.assertEqual(hidden_width(3, 6, "floor", 8), 16)
        self.assertEqual(hidden_width(3, 6, "ceil", 8), 24)
        self.assertEqual(hidden_width(13, 1.5, "floor", 1), 20)  # round(19.5) = 20, half away from zero

    def test_written_file_loads_with_its_rule_and_honest_provenance(self):
        from sushi.builder import provenance
        b = _small_builder()
        self.assertEqual(b.units[1]["mid_max"], 24)   # floor rule, divisor 4: 8 x 3
        self.assertEqual(b.units[2]["se_mid_max"], 8)  # floor(36 / 4) = 9 -> 8
        n = b.write(self.path, _random_state_dict(b),
                    provenance(trained=False, text="numpy default_rng(0) normal x 0.1"))
        self.assertEqual(os.path.getsize(self.path), n)
        self.assertEqual(os.listdir(self.dir.name), ["net.sushi"])  # no temporary left
        with sushi.SuperNet.load(self.path) as sn:
            info = sn.info
            self.assertEqual(info["name"], "test-byo-cnn")
            self.assertTrue(info["synthetic"])
            self.assertIn("UNTRAINED", info["provenance"])
            self.assertEqual(info["n_candidates"], 0)
            with sn.subnet("max") as s:
                out_c = {L["name"]: L["out_c"] for L in s.layers}
            self.assertEqual(out_c["blocks.0.conv.inverted_bottleneck"], 24)
            with sn.subnet('{"ks": [3, 3], "e": [2, 2], "d": [2], "r": 16}') as s:
                out_c = {L["name"]: L["out_c"] for L in s.layers}
            self.assertEqual(out_c["blocks.0.conv.inverted_bottleneck"], 16)  # floor(16 / 4) x 4
            self.assertEqual(out_c["blocks.1.conv.inverted_bottleneck"], 24)
        with open(self.path, "rb") as f:
            data = f.read()
        self.assertIn(b"mid_round", data)
        self.assertIn(b"floor", data)

    def test_ofa_rule_is_not_written(self):
        from sushi.builder import provenance
        b = _small_builder("ofa", 8)
        b.write(self.path, _random_state_dict(b), provenance(trained=False, text="random"))
        with open(self.path, "rb") as f:
            self.assertNotIn(b"mid_round", f.read())

    def test_state_dict_problems_are_one_line_each(self):
        from sushi.builder import StateDictError, provenance
        b = _small_builder()
        sd = _random_state_dict(b)
        sd["blocks.0.conv.point_linear.conv.weight"] = np.zeros((12, 20, 1, 1), np.float32)
        sd["stem.bn.num_batches_tracked"] = np.zeros((), np.int64)  # ignored, as in torch
        sd["head.extra.weight"] = np.zeros((3, 3), np.float32)
        sd["classifier.linear.bias"] = np.zeros(10, np.int64)
        sd["stem.conv.weight"] = sd["stem.conv.weight"].copy()
        sd["stem.conv.weight"][0, 0, 0, 0] = np.nan
        del sd["stem.bn.bias"]
        with open(self.path, "wb") as f:
            f.write(b"old")
        with self.assertRaises(StateDictError) as cm:
            b.write(self.path, sd, provenance(trained=False, text="random"))
        p = cm.exception.problems
        self.assertEqual(len(p), 5, p)
        self.assertIn("blocks.0.conv.point_linear.conv.weight: expected shape [12, 24, 1, 1], "
                      "found [12, 20, 1, 1]", p)
        self.assertIn("stem.bn.bias: missing (expected shape [8])", p)
        self.assertIn("head.extra.weight: extra tensor of shape [3, 3], not used by the declared SuperNet", p)
        self.assertIn("classifier.linear.bias: dtype int64, expected a floating-point tensor", p)
        self.assertIn("stem.conv.weight: 1 value(s) not finite", p)
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), b"old")  # untouched
        self.assertEqual(os.listdir(self.dir.name), ["net.sushi"])

    def test_rename_and_centre_cropped_kernels(self):
        from sushi.builder import provenance
        b = _small_builder()
        sd = _random_state_dict(b)
        prov = provenance(trained=False, text="random")
        # reference: the 3x3 kernels given explicitly as the centre of the 5x5 ones
        for blk in ("blocks.0", "blocks.1"):
            base = blk + ".conv.depth_conv.conv.weight"
            sd[base + "_k3"] = sd[base][:, :, 1:4, 1:4].copy()
        ref = os.path.join(self.dir.name, "ref.sushi")
        b.write(ref, sd, prov)
        # the same through rename= and center_crop_kernels=True: byte for byte the same file
        renamed = {"net." + k: v for k, v in sd.items() if not k.endswith("_k3")}
        b.write(self.path, renamed, prov, rename=lambda n: "net." + n, center_crop_kernels=True)
        with open(ref, "rb") as f1, open(self.path, "rb") as f2:
            self.assertEqual(f1.read(), f2.read())
        with sushi.SuperNet.load(self.path) as sn:
            self.assertEqual(sn.info["n_candidates"], 0)
        # without center_crop_kernels a missing smaller kernel is an error
        from sushi.builder import StateDictError
        with self.assertRaisesRegex(StateDictError, r"blocks\.0\.conv\.depth_conv\.conv\.weight_k3: missing"):
            b.write(self.path, renamed, prov, rename=lambda n: "net." + n)

    def test_declaration_errors(self):
        from sushi.builder import Builder, BuilderError, provenance
        kw = dict(num_classes=10, channels=1, mean=[0.5], std=[0.25], resolutions=[16])
        for bad in ("", None):
            with self.assertRaises(BuilderError):
                Builder(bad, **kw)
        with self.assertRaisesRegex(BuilderError, "std"):
            Builder("x", **dict(kw, std=[0.0]))
        with self.assertRaisesRegex(BuilderError, "default_resolution"):
            Builder("x", default_resolution=20, **kw)
        b = Builder("x", **kw)
        with self.assertRaisesRegex(BuilderError, "elastic_ks needs"):
            b.mbconv("m", 8, 8, elastic_ks=True)
        with self.assertRaisesRegex(BuilderError, "mid_round"):
            b.mbconv("m", 8, 8, e=2, mid_round="nearest")
        with self.assertRaisesRegex(BuilderError, "dataset"):
            provenance(trained=True, text="20 SGD steps")
        with self.assertRaisesRegex(BuilderError, "untrained"):
            provenance(trained=False, text="random", dataset="fashion-mnist/train")
        m = provenance(trained=True, text="20 SGD steps, seed 0", dataset="fashion-mnist/train", steps=20)
        self.assertFalse(m["synthetic"])
        self.assertEqual(m["steps"], 20)


@unittest.skipIf(np is None, "numpy not installed")
class CandidateTables(unittest.TestCase):
    """with_candidates / with_bn_stats / with_accuracies / with_int8_ranges and
    sushi.cpu.recalibrate_bn_stats on a builder-made file."""

    @classmethod
    def setUpClass(cls):
        from sushi.builder import provenance
        cls.dir = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.dir.name, "net.sushi")
        b = _small_builder()
        b.write(cls.path, _random_state_dict(b), provenance(trained=False, text="random"))

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def setUp(self):
        self.sn = sushi.SuperNet.load(self.path)
        self.rng = np.random.default_rng(1)

    def tearDown(self):
        self.sn.close()

    def _images(self, s, n=6):
        r = s.config.resolution
        return self.rng.random((n, 1, r, r), dtype=np.float32)

    def test_with_candidates(self):
        t = self.sn.with_candidates(["max", "min@12", {"ks": [3, 5], "e": [2, 3], "d": [2], "r": 16}],
                                    "test")
        self.assertEqual(t.info["n_candidates"], 3)
        self.assertEqual(t.candidate(1)["config"], self.sn.config("min@12"))
        self.assertTrue(math.isnan(t.candidate(0)["accuracy"]))
        self.assertIn("test", t.info["provenance"])
        with self.assertRaises(sushi.SushiError) as cm:
            self.sn.with_candidates(["max", "max"], "dup")
        self.assertEqual(cm.exception.status, _ffi.STATUS["ERR_INVALID"])
        with self.assertRaises(sushi.SushiError):
            self.sn.with_candidates(['{"ks": [7, 5], "e": [2, 3], "d": [2], "r": 16}'], "bad")
        t.close()

    @unittest.skipUnless(_cpu_available(), "libsushi built without the cpu backend")
    def test_bn_stats_accuracies_int8_ranges(self):
        import sushi.cpu
        t = self.sn.with_candidates(["max", "min"], "test")
        stats = [sushi.cpu.recalibrate_bn_stats(t.subnet(i), self._images(t.subnet(i)), batch=3)
                 for i in range(2)]
        self.assertEqual(stats[0].size, sushi.cpu.bn_stats_len(t.subnet(0)))
        # the same statistics recalibrate_bn puts into a SubNet: same logits
        s0 = t.subnet(0)
        x = self._images(s0)
        st = sushi.cpu.recalibrate_bn_stats(s0, x, batch=3)
        t2 = t.with_bn_stats([st, None], "test stats")
        with t.backend("cpu") as be:
            ref = be.run(sushi.cpu.recalibrate_bn(s0, x, batch=3), x[0])
        with t2.backend("cpu") as be:
            got = be.run(t2.subnet(0), x[0])
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
        with self.assertRaises(ValueError):
            t.with_bn_stats([st], "one row for two candidates")
        with self.assertRaises(sushi.SushiError):
            t.with_bn_stats([st[:-1], None], "short")
        neg = st.copy()
        neg[-1] = -1.0  # a negative variance
        with self.assertRaises(sushi.SushiError) as cm:
            t.with_bn_stats([neg, None], "negative")
        self.assertEqual(cm.exception.status, _ffi.STATUS["ERR_RANGE"])
        a = t2.with_accuracies([0.75, None], "random/test", "top1", "unit test")
        self.assertEqual(a.candidate(0)["accuracy"], 0.75)
        self.assertEqual(a.candidate(0)["accuracy_source"], "measured")
        self.assertTrue(math.isnan(a.candidate(1)["accuracy"]))
        with self.assertRaises(sushi.SushiError):
            t2.with_accuracies([1.5, None], "d", "top1", "s")
        ranges = [sushi.cpu.calibrate_int8(a.subnet(i), self._images(a.subnet(i))) for i in range(2)]
        q = a.with_int8_ranges([ranges[0], None], "unit test ranges")
        np.testing.assert_array_equal(q.candidate_int8_ranges(0), ranges[0])
        self.assertIsNone(q.candidate_int8_ranges(1))
        q.save(os.path.join(self.dir.name, "q.sushi"))
        with sushi.SuperNet.load(os.path.join(self.dir.name, "q.sushi")) as back:
            self.assertEqual(back.candidate(0)["accuracy"], 0.75)
            np.testing.assert_array_equal(back.candidate_int8_ranges(0), ranges[0])
        for o in (q, a, t2, t):
            o.close()

def main():
    verbosity = 2 if "-v" in sys.argv else 1
    argv = [a for a in sys.argv[1:] if a != "-v"]
    loader = unittest.TestLoader()
    suite = (loader.loadTestsFromNames(argv, sys.modules[__name__]) if argv
             else loader.loadTestsFromModule(sys.modules[__name__]))
    result = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    skipped = len(result.skipped)
    failing = len(result.failures) + len(result.unexpectedSuccesses)
    crashing = len(result.errors)
    passing = result.testsRun - skipped - failing - crashing
    print(f"[python] Synthesis: Tested: {result.testsRun - skipped} | Passing: {passing} | "
          f"Failing: {failing} | Crashing: {crashing}  (skipped: {skipped})")
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)


if __name__ == "__main__":
    main()
