"""Compatibility shim: the writer of libsushi SuperNet files now ships in the
Python binding as `sushi.writer` (bindings/python/sushi/writer.py), where the
builder (`sushi.builder`, docs/bring-your-own.md) uses it too.

The module is loaded from its file, not through the `sushi` package, so the
export tools keep working without a built libsushi (the package's __init__
loads the library):

    import sushi_writer as sw   # tools/export on sys.path
"""
import importlib.util
import os
import sys

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "bindings", "python", "sushi", "writer.py")
_spec = importlib.util.spec_from_file_location("sushi_writer_impl", _PATH)
_mod = importlib.util.module_from_spec(_spec)
sys.modules["sushi_writer_impl"] = _mod
_spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})
