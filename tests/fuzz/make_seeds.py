#!/usr/bin/python3
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

Seeds are small: a few frames cut from the real fixtures in datasets/real
and tiny hand-made files that reach each branch of a format (header keys,
masks, CRLF, NaN text, dtypes).  The text, audio and process targets take one
config byte in front of the file (fuzz_options.h); this script writes it.

Run it again after a format gains a feature; the output is deterministic.
    /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import io
import os
import struct
import sys
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
REAL = os.path.join(ROOT, "datasets", "real")

# fuzz_options.h: bits 0-2 grid {0x0,1x1,2x3,4x4,64x32,64x27,60x21,3x?},
# bits 3-4 frame_per_file {-1,0,1,-1}, bit 5 rate 10 Hz, bit 6 roller mode.
GRID = {"none": 0, "1x1": 1, "2x3": 2, "4x4": 3, "64x32": 4, "64x27": 5, "60x21": 6}
PER_FILE = {-1: 0, 0: 1 << 3, 1: 2 << 3}


def cfg(grid="none", per_file=-1, rate=False, roller=False):
    return bytes([GRID[grid] | PER_FILE[per_file] | (32 if rate else 0) | (64 if roller else 0)])


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tekscan_cut(n_frames):
    """The F-Scan fixture's header and its first n_frames frames, then '@@'."""
    with open(os.path.join(REAL, "tekscan_fscan", "FrasP01L.asf"), "rb") as f:
        text = f.read()
    head, _, body = text.partition(b"ASCII_DATA @@\r\n")
    frames = body.split(b"Frame ")
    out = head + b"ASCII_DATA @@\r\n" + frames[0] + b"Frame ".join([b""] + frames[1:n_frames + 1])
    out = out.replace(b"END_FRAME 205", b"END_FRAME %d" % n_frames)
    return out.rstrip(b"\r\n") + b"\r\n@@\r\n"


def tekscan_small(eol=b"\r\n", rows=3, cols=4, frames=2, extra=b""):
    lines = [b"DATA_TYPE MOVIE", b"VERSION Tekscan 7.0", b"ROWS %d" % rows, b"COLS %d" % cols,
             b"ROW_SPACING 5.08 mm", b"COL_SPACING 5.08 mm", b"SECONDS_PER_FRAME 0.01",
             b"SATURATION_PRESSURE 1514.73 KPa", b"COMMENTS:", b"free text, with commas",
             b"START_FRAME 1", b"END_FRAME %d" % frames, b"UNITS KPa"]
    if extra:
        lines.append(extra)
    lines += [b"ASCII_DATA @@", b""]
    for k in range(frames):
        lines.append(b"Frame %d" % (k + 1))
        for r in range(rows):
            row = [b"B" if (r + c) % 5 == 0 else b"%d" % (r * cols + c + k) for c in range(cols)]
            lines.append(b",".join(row))
        lines.append(b"")
    lines.append(b"@@")
    return eol.join(lines) + eol


def text_seeds():
    with open(os.path.join(REAL, "physionet_pmd", "experiment-i", "S1", "1.txt"), "rb") as f:
        mat_lines = f.read().split(b"\n")
    two = b"\n".join(mat_lines[:2]) + b"\n"
    with open(os.path.join(REAL, "physionet_pmd", "experiment-ii", "S1", "Air_Mat", "Matrix_Air_B1.txt"), "rb") as f:
        air = f.read()
    seeds = {
        "pmd_two_frames": cfg("64x32", 0) + two,
        "pmd_guess": cfg("64x32") + two,
        "airmat_one_frame": cfg("64x27", 1) + air,
        "airmat_guess": cfg() + air,
        "tiny_commas_crlf": cfg("2x3", 0, rate=True) + b"1,2,3,4,5,6\r\n7,8,9,10,11,12\r\n",
        "tiny_frame_per_file": cfg("2x3", 1) + b"1 2 3\n4 5 6\n",
        "tiny_nan_inf": cfg("2x3", 0) + b"nan 1e3 -inf 2.5e-3 +4 .5\n",
        "tiny_semicolon_tabs": cfg("4x4", 0, roller=True) + b"\t".join(b"%d" % i for i in range(16)) + b"\t\n",
        "blank_lines": cfg("1x1", 0) + b"\n\n3\n\n4\n",
        "spreadsheet_padded": cfg("2x3", 1) + b",,,,,\r\n1,2,3,,\r\n4,5,6,,\r\n,,,,,\r\n7,8,9,,\r\n1,2,3,,\r\n",
        # tables as pandas and numpy write them: names, an index or time column, comments
        "pandas_index": cfg("2x3", 0) + b",0,1,2,3,4,5\n0,1.5,2,3,4,5,6\n1,5,6,7,8.25,9,10\n",
        "pandas_counted": cfg("2x3", 0) + b"0,1,2,3,4,5\n1.5,2,3,4,5,6\n5,6,7,8,9,10\n",
        "time_column": cfg("2x3", 0) + b"time (s),a,b,c,d,e,f\n0.00,1,2,3,4,5,6\n0.01,7,8,9,10,11,12\n",
        "time_ms_tabs": cfg("1x1", 0) + b"time_ms\tx\n0\t1\n20\t3\n40\t5\n",
        "excel_semicolons": cfg("2x3", 0) + b"Zeit;a;b;c;d;e;f\r\n1;1,5;2;3;4;5;6\r\n2;7;8,25;9;10;11;12\r\n;;;;\r\n",
        "savetxt_comments": cfg("2x3", 0) + b"# sensor 2x3\n# day 1\n1 2 3 4 5 6\n7 8 9 10 11 12\n# end\n",
        # nan and inf counted at open (their first place): beside a time column, with ';'
        "nonfinite_time_semicolons": cfg("2x3", 0) + b"t;a;b;c;d;e;f\n0;1,5;NaN;3;-Infinity;5;6\n0,1;inf;2;nan;4;5;6\n",
        # pandas' DatetimeIndex and TimedeltaIndex in the time column (session 47)
        "pandas_datetime": cfg("2x3", 0) + b"time,0,1,2,3,4,5\n2026-01-01 23:59:59.990+01:00,1,2,3,4,5,6\n"
        b"2026-01-02T00:00:00Z,7,8,9,10,11,12\n2026-01-02,1,2,3,4,5,6\n",
        "pandas_timedelta": cfg("2x3", 0) + b",time,0,1,2,3,4,5\n0,-1 days +23:59:59.990000,1,2,3,4,5,6\n"
        b"1,0 days 00:00:00,7,8,9,10,11,12\n",
    }
    return seeds


def xsensor_seeds():
    wide_hdr = b"Frame,Date,Time," + b",".join(b"S_%d_%d" % (r, c) for r in range(1, 3) for c in range(1, 4))
    wide = wide_hdr + b"\r\n1,2024-01-02,10:00:00.000," + b",".join(b"%d,5" % i for i in range(6)) + b"\r\n"
    wide_dot = wide_hdr + b"\n1,2024-01-02,10:00:00.000," + b",".join(b"%d.5" % i for i in range(6)) + \
        b"\n2,2024-01-02,10:00:00.100," + b",".join(b"%d.25" % i for i in range(6)) + b"\n"
    block = (b"XSENSOR Technology Corporation\r\nSensor,LX100\r\nRows,2\r\nColumns,3\r\n"
             b"Sensel Width (cm),1,27\r\nSensel Height (cm),1,27\r\nUnits,mmHg\r\n\r\n"
             b"Frame,1\r\nTime,10:00:00.000\r\n1,2,3\r\n4,5,6\r\n\r\n"
             b"Frame,2\r\nTime,10:00:00.100\r\n1,5;2,3\r\n4,5,6,5\r\n")
    return {"wide_decimal_comma": wide, "wide_dot": wide_dot, "block": block}


def session_seeds():
    try:
        import h5py
        import numpy as np
    except ImportError:
        print("make_seeds: no h5py/numpy; session seeds skipped", file=sys.stderr)
        return {}
    out = {}

    def make(name, fn):
        bio = io.BytesIO()
        with h5py.File(bio, "w", libver="earliest") as f:
            fn(f, np)
        out[name] = bio.getvalue()

    def basic(f, np):
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.attrs["frame_rate_hz"] = 100.0
        f.attrs["row_pitch_mm"] = 5.0
        f.attrs["col_pitch_mm"] = 5.0
        f.attrs["units"] = "kPa"
        f.attrs["mode"] = "mat"
        f.create_dataset("frames", data=np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5))

    def full(f, np):
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.attrs["frame_rate_hz"] = 50.0
        f.attrs["units"] = "raw"
        f.attrs["mode"] = "roller"
        f.attrs["roller_radius_mm"] = 50.0
        f.create_dataset("frames", data=(np.arange(4 * 3 * 2) % 7).astype(np.uint16).reshape(4, 3, 2),
                         chunks=(2, 3, 2), compression="gzip", shuffle=True)
        f.create_dataset("time", data=np.array([0.0, 0.02, 0.041, 0.06]))
        f.create_dataset("mask", data=np.array([[1, 0], [1, 1], [0, 1]], dtype=np.uint8))
        g = f.create_group("truth/knots")
        for col in ("x_mm", "y_mm", "sigma_mm", "amplitude_kpa"):
            g.create_dataset(col, data=np.array([1.0, 2.0]))

    def int16(f, np):
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.create_dataset("frames", data=np.array([[[-1, 2], [3, -4]]], dtype=np.int16))

    def wrong_rank(f, np):
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.create_dataset("frames", data=np.zeros((4, 5), dtype=np.float32))
        f.create_dataset("time", data=np.zeros(7))

    def string_attrs(f, np):
        f.attrs["schema"] = np.bytes_(b"knotmap-session")
        f.attrs["schema_version"] = "1"
        f.attrs["frame_rate_hz"] = "fast"
        f.create_dataset("frames", data=np.zeros((2, 2, 2), dtype=np.float64))
        f.create_dataset("mask", data=np.ones((3, 3), dtype=np.uint8))

    def lzf_f32(f, np):
        # h5py's LZF (decoded by knotmap itself, src/io/h5_chunks_read.c), with
        # the byte shuffle, chunks of whole frames: one that LZF shrinks and
        # the mostly-zero rest.
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.attrs["frame_rate_hz"] = 100.0
        f.attrs["mode"] = "mat"
        data = np.zeros((8, 3, 2), dtype=np.float32)
        data[5, 1, 1] = 30.5
        data[6] = 2.0
        f.create_dataset("frames", data=data, chunks=(4, 3, 2), compression="lzf", shuffle=True)

    def tiles_f32(f, np):
        # frames split in tiles (as h5py chunks by itself), partial at the
        # frame's edges and in time: knotmap's chunk reader puts them in place
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.attrs["frame_rate_hz"] = 100.0
        f.attrs["mode"] = "mat"
        data = (np.arange(7 * 5 * 3) % 11).astype(np.float32).reshape(7, 5, 3)
        f.create_dataset("frames", data=data, chunks=(4, 2, 2), compression="gzip", shuffle=True)

    def rct_f32(f, np):
        # stored [R, C, T] with a /time as long as the last axis (h5py's and
        # xarray's time-last order): read a block [R, C, n] at a time and
        # transposed (read_session_rct.c)
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        data = (np.arange(4 * 3 * 9) % 7).astype(np.float32).reshape(4, 3, 9)
        f.create_dataset("frames", data=data, chunks=(2, 3, 4), compression="gzip")
        f["time"] = np.arange(9) / 10.0

    def coords_f32(f, np):
        # no pitch attributes: the row and column coordinates attached to
        # /frames as dimension scales (xarray's, h5py's dims) give it
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.create_dataset("frames", data=np.ones((3, 4, 2), dtype=np.float32))
        for name, v, dim in (("y_mm", np.arange(4) * 7.5, 1), ("x", np.arange(2) * 0.5, 2)):
            f[name] = v
            f[name].make_scale(name)
            f["frames"].dims[dim].attach_scale(f[name])
        f["x"].attrs["units"] = "cm"

    def time_coord(f, np):
        # no /time: a scale "t" with a time unit on /frames' last axis gives
        # the times and the [R, C, T] layout (km_h5_time_coord)
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.create_dataset("frames", data=np.ones((3, 2, 5), dtype=np.float32), chunks=(3, 2, 2),
                         compression="gzip")
        f["t"] = np.arange(5) * 0.5
        f["t"].attrs["units"] = "seconds since 2026-01-01"
        f["t"].make_scale("t")
        f["frames"].dims[2].attach_scale(f["t"])

    make("basic_f32", basic)
    make("time_coord", time_coord)
    make("coords_f32", coords_f32)
    make("tiles_f32", tiles_f32)
    make("lzf_f32", lzf_f32)
    make("full_u16_chunked", full)
    make("int16", int16)
    make("wrong_rank", wrong_rank)
    make("string_attrs", string_attrs)
    make("rct_f32", rct_f32)
    return out


def wav(channels, frames, fmt_tag=3, bits=32, comment=None, rate=100):
    """RIFF/WAVE with IEEE float (tag 3) or PCM (tag 1) samples and an
    optional LIST/INFO/ICMT comment (what libsndfile reads as the comment)."""
    if fmt_tag == 3:
        data = b"".join(struct.pack("<f", (i % 17) * 1.5) for i in range(channels * frames))
    else:
        data = b"".join(struct.pack("<h", (i * 37) % 3000 - 1500) for i in range(channels * frames))
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if comment is not None:
        c = comment + b"\0"
        if len(c) % 2:
            c += b"\0"
        info = b"INFO" + b"ICMT" + struct.pack("<I", len(c)) + c
        chunks += b"LIST" + struct.pack("<I", len(info)) + info
    chunks += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def audio_seeds():
    return {
        "f32_12ch_comment": cfg() + wav(12, 3, comment=b"knotmap grid=3x4 pitch=10x10 units=kPa mode=roller roller_radius_mm=50"),
        "f32_6ch_option_grid": cfg("2x3") + wav(6, 4),
        "pcm16_flat_1ch": cfg("2x3", rate=True) + wav(1, 12, fmt_tag=1, bits=16),
        "pcm16_wrong_channels": cfg("4x4") + wav(5, 2, fmt_tag=1, bits=16, comment=b"knotmap grid=4x4"),
        "comment_odd": cfg() + wav(4, 2, comment=b"knotmap grid=2x2 pitch=3 units=mmHg mode=mat junk= =x grid=9x9x9"),
    }


def mat5(variables, big_endian=False, compress=False):
    """A MAT-file of level 5: variables maps name -> (mx class, mi type, dims, values)."""
    e = ">" if big_endian else "<"
    fmt = {1: "b", 2: "B", 3: "h", 4: "H", 5: "i", 6: "I", 7: "f", 9: "d", 16: "B"}

    def el(typ, payload):
        if 0 < len(payload) <= 4:
            return struct.pack(e + "I", len(payload) << 16 | typ) + payload.ljust(4, b"\0")
        return struct.pack(e + "II", typ, len(payload)) + payload + b"\0" * (-len(payload) % 8)

    out = b"MATLAB 5.0 MAT-file, fuzz seed".ljust(116) + b"\0" * 8 + struct.pack(e + "HH", 0x100, 0x4D49)
    for name, (cls, mi, dims, values) in variables.items():
        body = struct.pack(e + "IIII", 6, 8, cls, 0) + struct.pack(e + "II", 5, 4 * len(dims))
        body += struct.pack(e + "%di" % len(dims), *dims) + b"\0" * (-4 * len(dims) % 8)
        body += el(1, name.encode()) + el(mi, struct.pack(e + "%d%s" % (len(values), fmt[mi]), *values))
        m = struct.pack(e + "II", 14, len(body)) + body
        out += struct.pack(e + "II", 15, len(zlib.compress(m))) + zlib.compress(m) if compress else m
    return out


def octave(name):
    with open(os.path.join(ROOT, "tests", "data", "octave", name), "rb") as f:
        return f.read()


def matlab_seeds():
    frames = (6, 7, (3, 4, 5), [float(i % 9) for i in range(60)])       # double, stored as double
    narrow = (6, 2, (2, 3, 4), [i % 200 for i in range(24)])            # double stored as uint8
    meta = {"time": (6, 9, (1, 5), [0.0, 0.01, 0.02, 0.03, 0.04]), "units": (4, 16, (1, 3), list(b"kPa")),
            "row_pitch_mm": (6, 9, (1, 1), [5.0]), "mask": (9, 2, (3, 4), [1] * 11 + [0])}
    return {
        "plain_time_last": b"\0" + mat5({"frames": frames, **meta}),
        "compressed_time_first": b"\1" + mat5({"frames": (7, 7, (5, 3, 4), frames[3]), "time": meta["time"]},
                                               compress=True),
        "big_endian_narrow": b"\2" + mat5({"P": narrow}, big_endian=True, compress=True),
        "two_arrays": b"\0" + mat5({"a": frames, "b": frames}),
        # GNU Octave's own files: a struct s with frames, time, fs, units, subject
        "octave_struct_v6": b"\0" + octave("struct_v6.mat"),
        "octave_struct_v7": b"\1" + octave("struct_v7.mat"),
        # a MATLAB string object (mxOPAQUE: name, "MCOS", "string", uint32 metadata) beside the frames
        "string_object": b"\0" + mat5({"frames": frames, "time": meta["time"]}) + mcos_string("units"),
        **nested_seeds(),
    }


def mcos_string(name):
    def el(typ, payload):
        return struct.pack("<II", typ, len(payload)) + payload + b"\0" * (-len(payload) % 8)
    meta = struct.pack("<6I", 0xDD000000, 2, 1, 1, 1, 1)
    arr = el(6, struct.pack("<II", 13, 0)) + el(5, struct.pack("<2i", 6, 1)) + el(1, b"") + el(6, meta)
    body = el(6, struct.pack("<II", 17, 0)) + el(1, name.encode()) + el(1, b"MCOS") + el(1, b"string")
    body += struct.pack("<II", 14, len(arr)) + arr
    return struct.pack("<II", 14, len(body)) + body


def nested_seeds():
    """Structs in structs as scipy.io.savemat writes them: rec.data.frames
    beside rec.meta (time, units, fs) and a struct four levels deep."""
    try:
        import numpy as np
        import scipy.io
    except ImportError:
        print("make_seeds: no scipy/numpy; nested-struct MAT-file seeds skipped", file=sys.stderr)
        return {}
    frames = np.arange(60, dtype="f8").reshape(3, 4, 5) % 9
    out = {}
    for name, compress, v in (
            ("nested_struct", False, {"rec": {"data": {"frames": frames}, "meta": {
                "time": np.arange(5) * 0.01, "units": "kPa", "fs": 100.0}, "fs": 50.0}}),
            ("nested_deep_compressed", True, {"a": {"b": {"c": {"d": {"frames": frames}}, "fs": 20.0}}})):
        bio = io.BytesIO()
        scipy.io.savemat(bio, v, do_compression=compress)
        head = b"MATLAB 5.0 MAT-file, fuzz seed".ljust(116)  # savemat's says when: kept deterministic
        out[name] = (b"\1" if compress else b"\0") + head + bio.getvalue()[116:]
    return out


def mat73(variables):
    """A MATLAB v7.3 MAT-file (HDF5 behind a 512-byte user block) as
    MATLAB's `save -v7.3` lays it out: name -> MATLAB value (an array in
    MATLAB's shape, stored with its dimensions reversed; a str as char; a
    dict as a 1 x 1 struct group; a list as a cell of references)."""
    import h5py
    import numpy as np

    def put(g, name, value):
        if isinstance(value, dict):
            sub = g.create_group(name)
            sub.attrs["MATLAB_class"] = np.bytes_(b"struct")
            for k, v in value.items():
                put(sub, k, v)
            return
        if isinstance(value, list):
            refs = g.file.require_group("#refs#")
            for i, v in enumerate(value):
                put(refs, "%s%d" % (name, i), v)
            d = g.create_dataset(name, data=np.array(
                [[refs["%s%d" % (name, i)].ref for i in range(len(value))]], h5py.ref_dtype).T)
            d.attrs["MATLAB_class"] = np.bytes_(b"cell")
            return
        if isinstance(value, str):
            d = g.create_dataset(name, data=np.array([[ord(c)] for c in value], "u2"))
            d.attrs["MATLAB_class"] = np.bytes_(b"char")
            d.attrs["MATLAB_int_decode"] = np.int32(2)
            return
        a = np.atleast_2d(value)
        kw = {"compression": "gzip", "chunks": (1,) + a.T.shape[1:]} if a.ndim == 3 else {}
        d = g.create_dataset(name, data=np.ascontiguousarray(a.T), **kw)
        d.attrs["MATLAB_class"] = np.bytes_({"f": b"double" if a.itemsize == 8 else b"single",
                                             "i": b"int%d" % (8 * a.itemsize),
                                             "u": b"uint%d" % (8 * a.itemsize)}[a.dtype.kind])

    bio = io.BytesIO()
    with h5py.File(bio, "w", userblock_size=512, libver="earliest") as f:
        for name, value in variables.items():
            put(f, name, value)
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, fuzz seed HDF5 schema 1.00 .".ljust(116)
    return head + b"\0" * 8 + b"\0\x02IM" + bio.getvalue()[128:]


def mat73_seeds():
    try:
        import numpy as np
    except ImportError:
        print("make_seeds: no h5py/numpy; MATLAB v7.3 seeds skipped", file=sys.stderr)
        return {}
    frames = np.arange(60, dtype="f8").reshape(3, 4, 5) % 9        # frames(r, c, t)
    return {
        "v73_time_last": b"\0" + mat73({"frames": frames, "time": np.arange(5)[None] * 0.01,
                                        "units": "kPa", "fs": np.array(100.0)}),
        "v73_time_first_i2": b"\1" + mat73({"P": frames.astype("i2").transpose(2, 0, 1)}),
        "v73_struct": b"\0" + mat73({"s": {"frames": frames.astype("f4"), "fs": np.array(50.0)}}),
        "v73_cell": b"\0" + mat73({"frames": [frames], "mask": np.ones((3, 4), "u1")}),
        "v73_nested": b"\0" + mat73({"rec": {"data": {"frames": frames}, "meta": {
            "time": np.arange(5)[None] * 0.01, "units": "kPa", "fs": np.array(100.0)}},
            "other": {"meta": {"fs": np.array(7.0)}}}),
    }


def npy(descr, shape, values, fortran=False, version=1):
    head = ("{'descr': '%s', 'fortran_order': %s, 'shape': %r, }" % (descr, fortran, shape)).encode()
    pre = 10 if version == 1 else 12
    head += b" " * (-(pre + len(head) + 1) % 64) + b"\n"
    size = len(head).to_bytes(2 if version == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([version, 0]) + size + head + values


def npy_seeds():
    f4 = struct.pack("<24f", *[float(i % 7) for i in range(24)])
    return {
        "f4_trc": b"\1" + npy("<f4", (2, 3, 4), f4),
        "f4_fortran_guess": b"\0" + npy("<f4", (2, 3, 4), f4, fortran=True),
        "u2_be_rct_v2": b"\2" + npy(">u2", (3, 4, 2), struct.pack(">24H", *range(24)), version=2),
        "one_frame_i1": b"\0" + npy("|i1", (4, 6), bytes(range(24))),
    }


def npz(arrays, compress=False):
    """A .npz as numpy.savez writes it (zip64 member headers), by zipfile."""
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))  # the same bytes each run
            info.compress_type = method
            with z.open(info, "w", force_zip64=True) as m:
                m.write(data)
    return out.getvalue()


def npz_seeds():
    f4 = struct.pack("<24f", *[float(i % 7) for i in range(24)])
    t = npy("<f8", (2,), struct.pack("<2d", 0.0, 0.01))
    units = npy("<U3", (), "kPa".encode("utf-32-le"))
    return {
        "stored_time_units": b"\0" + npz({"frames": npy("<f4", (2, 3, 4), f4), "time": t, "units": units}),
        "deflated_rct": b"\2" + npz({"arr_0": npy(">u2", (3, 4, 2), struct.pack(">24H", *range(24)))}, True),
        "mask_fortran": b"\0" + npz({"frames": npy("<f4", (2, 3, 4), f4, fortran=True),
                                     "mask": npy("|b1", (3, 4), bytes([1, 0] * 6))}, True),
    }


def utf16(data, codec, bom=False):
    """data (read as Latin-1) saved as UTF-16 in `codec`, with its byte order mark when asked."""
    mark = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[codec] if bom else b""
    return mark + data.decode("latin1").encode(codec)


def text_scan_seeds():
    return {
        "numbers": b"1 -2 +3.5 .5 5. 1e10 1E-10 -0 nan NaN inf -Infinity 3.4028235e38 1e39\r\n",
        "long_mantissa": b"123456789012345678901234567890 0.000000000000000000000012345 9" * 2 + b"\n",
        "crlf_mixed": b"a\r\nb\n\r\n\rc\r",
    }


def chunks_seeds():
    """fuzz_chunks.c: byte 0 the layout (bit 0 float64, 1 rank 3, 2-3 level
    {none, 1, 4, 9}, 4 shuffle, 5 deflate first, 6 noise planes, 7 noise
    drawn from the bytes), byte 1 rows per chunk - 1 and the rhythm."""
    smooth64 = b"".join(struct.pack("<d", 20.0 + 0.25 * (i % 9)) for i in range(300))
    smooth32 = b"".join(struct.pack("<f", 5.0 + 0.5 * (i % 7)) for i in range(600))
    return {
        "f64_column_shuffle_deflate4_noise": bytes([1 | 2 << 2 | 16 | 64 | 128, 63]) + smooth64,
        "f64_column_smooth_noise_planes": bytes([1 | 2 << 2 | 16 | 64, 31]) + smooth64,
        "f32_frames_shuffle_deflate1_noise": bytes([2 | 1 << 2 | 16 | 64 | 128, 15 | 64]) + smooth32,
        "f32_frames_unfiltered": bytes([2, 7]) + smooth32[:480],
        "f64_column_deflate_then_shuffle": bytes([1 | 3 << 2 | 16 | 32, 5 | 128]) + smooth64[:800],
    }


def main():
    tek = {"fscan_2frames": tekscan_cut(2), "small_crlf": tekscan_small(),
           "small_lf": tekscan_small(eol=b"\n", rows=2, cols=2, frames=3),
           "small_extra_key": tekscan_small(extra=b"MICRO_SECOND 250"),
           "no_end_marker": tekscan_small(frames=1).rsplit(b"@@", 1)[0],
           # a single-frame export: the rows right after ASCII_DATA
           "no_frame_lines": tekscan_small(frames=2).replace(b"Frame 1\r\n", b"").replace(
               b"Frame 2\r\n", b""),
           # as a spreadsheet saves it again: every line padded with commas
           "spreadsheet_padded": b"".join(line + b",,,,\r\n"
                                          for line in tekscan_small().split(b"\r\n")[:-1])}
    sets = {"tekscan": tek, "text": text_seeds(), "xsensor": xsensor_seeds(),
            "session": session_seeds(), "audio": audio_seeds(), "text_scan": text_scan_seeds(),
            "matlab": {**matlab_seeds(), **mat73_seeds()}, "npy": npy_seeds(),
            "npz": npz_seeds(), "chunks": chunks_seeds()}
    # Text in UTF-16 (read through a UTF-8 copy): with a byte order mark,
    # without one (told by the NULs), big-endian, a surrogate pair.
    tek["utf16le_small"] = utf16(tek["small_lf"], "utf-16-le", bom=True)
    tek["utf16be_nobom"] = utf16(tek["small_crlf"], "utf-16-be")
    sets["text"]["utf16_tiny_commas"] = sets["text"]["tiny_commas_crlf"][:1] + utf16(
        sets["text"]["tiny_commas_crlf"][1:], "utf-16-le", bom=True)
    sets["text"]["utf16be_nan_inf"] = sets["text"]["tiny_nan_inf"][:1] + utf16(
        sets["text"]["tiny_nan_inf"][1:], "utf-16-be")
    sets["xsensor"]["utf16_block"] = utf16(sets["xsensor"]["block"], "utf-16-be", bom=True)
    sets["text_scan"]["utf16_surrogates"] = b"\xff\xfe" + "1 \U0001F600 2\r\n3\n".encode("utf-16-le")
    for target, seeds in sets.items():
        for name, data in seeds.items():
            put(target, name, data)
    # auto: every file, without the config byte, so sniffing meets them all.
    for target in ("tekscan", "xsensor", "session"):
        for name, data in sets[target].items():
            put("auto", target + "_" + name, data)
    for target in ("text", "audio", "matlab", "npy", "npz"):
        for name, data in sets[target].items():
            put("auto", target + "_" + name, data[1:])
    put("auto", "empty", b"")
    # process: the text seeds as they are, Tekscan behind bits 3-4 = 3, audio behind bit 7.
    for name, data in sets["text"].items():
        put("process", "text_" + name, data)
    for name, data in tek.items():
        put("process", "tekscan_" + name, bytes([3 << 3]) + data)
    for name, data in sets["audio"].items():
        put("process", "audio_" + name, bytes([data[0] | 128]) + data[1:])
    for target in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, target))
        size = sum(os.path.getsize(os.path.join(OUT, target, f)) for f in files)
        print(f"{target:10s} {len(files):3d} seeds {size:8d} bytes")


if __name__ == "__main__":
    main()
