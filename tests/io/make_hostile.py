#!/usr/bin/python3
"""Make the hostile files of issue 16 in tests/data/bad (a few KiB each).

Each is built in a few lines of h5py (plus a byte patch where the file must be
damaged) and was a crash, a hang or gigabytes of memory before knotmap checked
it; EXPECTED.tsv holds the exit code of `knotmap process FILE` and a fragment
of its message, and tests/cli/test_hostile.py runs them with a time limit.
Deterministic: /usr/bin/python3 tests/io/make_hostile.py

  result_gheap_loop.h5      vlen string attribute whose global heap collection
                            has a free-space object of size 0: libhdf5 1.10.8
                            loops for ever in H5HG_read <- H5T__conv_vlen <-
                            H5Aread (the bit flips of a result given as input)
  session_gheap_overflow.h5 the string's heap object claims 8000 bytes in a
                            4 KiB collection: libhdf5 copies 8000 bytes out of
                            the collection's buffer into the string's (the
                            family of fuzz_session's memcpy-param-overlap,
                            tests/fuzz/regressions/session)
  session_unwritten_2e40.h5 /frames and /time declare 2^40 frames, none written:
                            the /time check walked 2^40 fill values
  session_unwritten_4096.h5 3 unwritten frames of 4096x4096 (chunked): 3.1 GB of
                            memory and a 419 MB result of fill values
  session_unwritten_contiguous.h5  the same, contiguous layout
  session_chunk_512mib.h5   /frames in one 512 MiB chunk (beyond the limit)
  session_budget_2048.h5    one written 2048x2048 frame: beyond the default
                            memory budget (1 GiB) of a run
  session_attr_message_flip.h5  one bit flipped in the root group's attribute
                            messages: libhdf5 leaks ids and printed "HDF5:
                            infinite loop closing library" at exit
"""
import os

import h5py
import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "bad")


def path(name):
    return os.path.join(HERE, name)


def root_attrs(f, schema="knotmap-session"):
    f.attrs["schema"] = schema  # h5py: variable-length UTF-8 string
    f.attrs["schema_version"] = np.int64(1)
    f.attrs["frame_rate_hz"] = 10.0


def patch_first_heap_object(name, idx=None, size=None):
    """Rewrite the header of the first object of the file's first global heap
    collection (HDF5 format spec: "GCOL", version, 3 reserved, 8-byte size;
    objects: 2-byte index, 2-byte refcount, 4 reserved, 8-byte size)."""
    data = bytearray(open(path(name), "rb").read())
    at = data.index(b"GCOL") + 16
    if idx is not None:
        data[at:at + 2] = int(idx).to_bytes(2, "little")
    if size is not None:
        data[at + 8:at + 16] = int(size).to_bytes(8, "little")
    open(path(name), "wb").write(bytes(data))


def main():
    good = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)

    with h5py.File(path("result_gheap_loop.h5"), "w") as f:
        root_attrs(f, "knotmap-result")
        f.create_dataset("frames", data=good)
    patch_first_heap_object("result_gheap_loop.h5", idx=0, size=0)

    with h5py.File(path("session_gheap_overflow.h5"), "w") as f:
        root_attrs(f)
        f.create_dataset("frames", data=good)
    patch_first_heap_object("session_gheap_overflow.h5", size=8000)

    with h5py.File(path("session_unwritten_2e40.h5"), "w") as f:
        root_attrs(f)
        f.create_dataset("frames", shape=(2**40, 4, 3), dtype="f4", chunks=(1024, 4, 3))
        f.create_dataset("time", shape=(2**40,), dtype="f8", chunks=(65536,))

    with h5py.File(path("session_unwritten_4096.h5"), "w") as f:
        root_attrs(f)
        f.create_dataset("frames", shape=(3, 4096, 4096), dtype="f4", chunks=(1, 512, 512))

    with h5py.File(path("session_unwritten_contiguous.h5"), "w") as f:
        root_attrs(f)
        f.create_dataset("frames", shape=(3, 4096, 4096), dtype="f4")

    with h5py.File(path("session_chunk_512mib.h5"), "w") as f:
        root_attrs(f)
        f.create_dataset("frames", shape=(8, 4096, 4096), dtype="f4", chunks=(8, 4096, 4096),
                         compression="gzip")

    with h5py.File(path("session_budget_2048.h5"), "w") as f:
        root_attrs(f)
        f.create_dataset("frames", data=np.zeros((1, 2048, 2048), np.float32),
                         chunks=(1, 256, 256), compression="gzip", compression_opts=9)

    with h5py.File(path("session_attr_message_flip.h5"), "w") as f:
        root_attrs(f)
        f.create_dataset("frames", data=np.zeros((2, 2, 2), np.float32))
    data = bytearray(open(path("session_attr_message_flip.h5"), "rb").read())
    data[105] ^= 1 << 5
    open(path("session_attr_message_flip.h5"), "wb").write(bytes(data))


if __name__ == "__main__":
    main()
