"""With one thread, `knotmap process` makes /candidates' group and columns and the
/frames/max and /frames/mean datasets during the frames (with /params, when no other
session of `-j N` is in a burst of HDF5 calls), so the end of a session only writes
their values: two sessions on two threads then wait less for HDF5's lock at their
ends (bench/HISTORY.md "Session 39 (burst13)").  The file holds the same objects.

Observed through the file: HDF5 gives an object made later a header further on in
the file, and /bodymap is made at the end.  Before (c4fb77e) /candidates' headers
lay after /bodymap's; so they do with `--threads 2`, whose writing thread uses the
writer during the frames.
"""
import h5py
import numpy as np

from km_cli import run_ok as run

SKIP = {"created_utc", "command_line"}


def addr(f, name):
    return h5py.h5o.get_info(f[name].id).addr


def made_ahead(f):
    return ["candidates"] + ["candidates/" + k for k in f["candidates"]] + \
        ["frames/max", "frames/mean"]


def at_end(f):
    return ["bodymap"] + ["bodymap/" + k for k in f["bodymap"]]


def everything(path):
    """Every object's kind, dtype, shape and values, and its attributes (references
    as the names they point to), by name."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            attrs = {}
            for k in obj.attrs:
                if k in SKIP:
                    continue
                v = obj.attrs[k]
                if k == "DIMENSION_LIST":
                    v = repr([[f[r].name for r in dim] for dim in v])
                elif k == "REFERENCE_LIST":
                    v = repr([(f[row[0]].name, int(row[1])) for row in v])
                elif not isinstance(v, str):
                    v = np.asarray(v).tobytes()
                attrs[k] = (obj.attrs.get_id(k).get_type().get_class(), v)
            if isinstance(obj, h5py.Dataset):
                out[name] = ("ds", obj.dtype.str, obj.shape, obj.chunks, obj[()].tobytes(), attrs)
            else:
                out[name] = ("group", sorted(obj.keys()), attrs)
        visit("/", f)
        f.visititems(visit)
    return out


def test_candidates_and_frame_maps_made_during_the_frames(tmp_path):
    s = tmp_path / "s.h5"
    run("synth", "--mode", "roller", "--grid", "16x16", "--rate", "100", "--duration", "10",
        "--seed", "4", "-o", s)
    run("process", "-q", "--save-frames", s, "-o", tmp_path / "one.h5")
    run("process", "-q", "--save-frames", "--threads", "2", s, "-o", tmp_path / "two.h5")
    with h5py.File(tmp_path / "one.h5", "r") as f:
        assert f["candidates"]["candidate"].shape[0] > 0
        end = min(addr(f, n) for n in at_end(f))
        late = [n for n in made_ahead(f) if addr(f, n) > end]
        assert late == [], late
    with h5py.File(tmp_path / "two.h5", "r") as f:
        end = min(addr(f, n) for n in at_end(f))
        assert all(addr(f, n) > end for n in made_ahead(f) if n.startswith("candidates"))
    one, two = everything(tmp_path / "one.h5"), everything(tmp_path / "two.h5")
    assert sorted(one) == sorted(two)
    for name in one:
        assert one[name] == two[name], name
