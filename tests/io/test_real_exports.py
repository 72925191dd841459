"""What real exporters write, generated here as small variant files: each must read
with the right values, grid, times and units, or be refused naming the file, the line
or field and what is wrong (exit 65, or 64 for an option; 69 for a type knotmap does
not read), never read as something else.

Facts on the exports come from docs/FORMAT.md (1.1 to 1.10) and the exporters' own
files: Tekscan's ASCII movies (`KEY value` header, `SECONDS_PER_FRAME` in seconds,
`ROW_SPACING 0.508 cm`, `UNITS MPa`), tables written by spreadsheets and R (`;` with
decimal commas, `NA` for a missing value), numpy arrays of every dtype.

Session 45 (fmt1): one rule for the frame rates every reader takes (a frame a day to
1e6 frames a second, docs/FORMAT.md 1.1 "Plausible rates"): a Tekscan
`SECONDS_PER_FRAME 1e-300` was read as a 1e300 Hz session. Run:
    KNOTMAP_BIN=build/knotmap PYTHONPATH=build/python /usr/bin/python3 -m pytest tests/io/test_real_exports.py
"""
import os
import subprocess
import warnings
import wave
from pathlib import Path

import numpy as np
import pytest

knotmap = pytest.importorskip("knotmap")
h5py = pytest.importorskip("h5py")
scipy_io = pytest.importorskip("scipy.io")

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("KNOTMAP_BIN", REPO / "build" / "knotmap"))

PLAUSIBLE = "knotmap reads a frame a day to 1e+06 frames a second"
UNITS_LIST = "kPa, mmHg, N/cm2, psi, Pa, MPa or raw"


def info(path, *opts):
    """`knotmap info PATH OPTS`: (exit code, stderr)."""
    r = subprocess.run([str(BIN), "info", *opts, str(path)], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr


def refused(path, code, *words, opts=()):
    """The CLI refuses PATH with exit `code`, its message naming the file and each word."""
    rc, err = info(path, *opts)
    assert rc == code, err
    line = [x for x in err.splitlines() if "warning" not in x][-1]
    assert line.startswith("knotmap: %s: " % path), err
    for w in words:
        assert w in line, err
    return line


def read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return knotmap.read_session(str(path), **kw)


def tekscan(tmp_path, head, body="Frame 1\n1,2,3\n4,5,6\nFrame 2\n7,8,9\n10,11,12\n@@\n", name="t.asf", eol="\n"):
    text = "DATA_TYPE MOVIE\nROWS 2\nCOLS 3\n" + head + "ASCII_DATA @@\n\n" + body
    p = tmp_path / name
    p.write_bytes(text.replace("\n", eol).encode())
    return p


# ---------------------------------------------------------------- the rate rule


@pytest.mark.parametrize("spf", ["1e-300", "1e-320", "1e300", "1e-7", "86401"])
def test_tekscan_period_outside_the_rule_is_refused(tmp_path, spf):
    # 1e-300 was a 1e300 Hz session; 1e-320 (1 / it overflows) was read as 1 Hz assumed
    p = tekscan(tmp_path, "SECONDS_PER_FRAME %s\nUNITS KPa\n" % spf)
    refused(p, 65, "line 4: SECONDS_PER_FRAME %s" % spf, "not plausible", PLAUSIBLE)
    # an option does not hide it
    refused(p, 65, "SECONDS_PER_FRAME", opts=("--rate", "100", "--override"))


@pytest.mark.parametrize("spf,hz", [("1e-6", 1e6), ("0.032", 31.25), ("86400", 1 / 86400)])
def test_tekscan_period_inside_the_rule_reads(tmp_path, spf, hz):
    s = read(tekscan(tmp_path, "SECONDS_PER_FRAME %s\nUNITS KPa\n" % spf))
    assert s.metadata["frame_rate_hz"] == pytest.approx(hz, rel=1e-12)
    assert s.time.tolist() == pytest.approx([0.0, 1 / hz], rel=1e-12)


def test_rate_option_outside_the_rule_is_refused(tmp_path):
    # session 46: the option's fault, said so (it began "knotmap: FILE: frame rate 1e+07 Hz:",
    # which read as the file's): above the range the CLI's --rate refuses it, below it the
    # library says "the frame rate given", and Python's read_session has no path before it
    p = tekscan(tmp_path, "UNITS KPa\n")
    rc, err = info(p, "--rate", "1e7")
    assert rc == 64 and "knotmap: info: --rate: '1e7' is out of range (0, 1000000] Hz" in err, err
    refused(p, 64, "the frame rate given (1e-06 Hz) is not plausible", PLAUSIBLE, opts=("--rate", "1e-6"))
    with pytest.raises(ValueError) as e:
        read(p, rate=1e9)
    assert str(e.value).startswith("the frame rate given (1e+09 Hz) is not plausible: " + PLAUSIBLE), e.value
    rc, err = info(p, "--rate", "1000000")
    assert rc == 0, err


def _session(path, attrs, time=None):
    with h5py.File(path, "w") as f:
        f.attrs.update({"schema": "knotmap-session", "schema_version": 1, "row_pitch_mm": 5.0,
                        "col_pitch_mm": 5.0, "units": "kPa", "mode": "mat", **attrs})
        f["frames"] = np.arange(4 * 2 * 3, dtype="f4").reshape(4, 2, 3)
        if time is not None:
            f["time"] = np.asarray(time, dtype="f8")
    return path


def test_every_reader_refuses_an_implausible_rate_naming_its_source(tmp_path):
    frames = np.arange(4 * 2 * 3, dtype="f4").reshape(4, 2, 3)
    cases = []
    cases.append((_session(tmp_path / "rate.h5", {"frame_rate_hz": 1e300}), "attribute frame_rate_hz"))
    cases.append((_session(tmp_path / "time.h5", {}, np.arange(4) * 2e5), "/time: 4 times from 0 s to 600000 s"))
    p = tmp_path / "rate.mat"
    scipy_io.savemat(p, {"frames": frames.transpose(1, 2, 0), "frame_rate_hz": 1e-9})
    cases.append((p, "variable frame_rate_hz = 1e-09"))
    p = tmp_path / "time.mat"
    scipy_io.savemat(p, {"frames": frames.transpose(1, 2, 0), "time": np.arange(4) * 1e-9})
    cases.append((p, "variable time: 4 times from 0 s to 3e-09 s"))
    p = tmp_path / "rate.npz"
    np.savez(p, frames=frames, frame_rate_hz=2e6)
    cases.append((p, "array frame_rate_hz = 2e+06"))
    p = tmp_path / "time.csv"  # a logger's nanoseconds under a name that says seconds
    p.write_text("time,a,b,c,d,e,f\n" + "".join("%g,%s\n" % (k * 1e-9, ",".join(["1"] * 6)) for k in range(4)))
    cases.append((p, "line 2: the time column: 4 times from 0 s to 3e-09 s"))
    p = tmp_path / "x.csv"
    p.write_text("Frame,Time,S_1_1,S_1_2,S_2_1,S_2_2\n"
                 + "".join("%d,%g,1,2,3,4\n" % (k + 1, k * 1e-8) for k in range(4)))
    cases.append((p, "line 5: frame 4: the times: 4 times from 0 s to 3e-08 s"))
    for path, where in cases:
        opts = ("--grid", "2x3") if path.suffix == ".csv" and path.name == "time.csv" else ()
        refused(path, 65, where, "not plausible", PLAUSIBLE, opts=opts)


def test_audio_sample_rate_outside_the_rule_is_refused(tmp_path):
    p = tmp_path / "fast.wav"
    with wave.open(str(p), "wb") as w:  # 4 channels of 16 bits at 2 MHz, 3 frames
        w.setparams((4, 2, 2_000_000, 0, "NONE", "not compressed"))
        w.writeframes(np.zeros((3, 4), "<i2").tobytes())
    refused(p, 65, "the sample rate 2000000 Hz", "not plausible", opts=("--grid", "2x2"))


def test_a_rate_name_outside_the_rule_is_no_rate(tmp_path):
    # fs = 1e9 is no frame rate (a clock? a size?): the rate is assumed and said
    p = tmp_path / "fs.mat"
    scipy_io.savemat(p, {"frames": np.ones((2, 3, 4), "f4"), "fs": 1e9})
    s = read(p)
    assert s.metadata["frame_rate_hz"] == 1.0
    assert "frame_rate_hz" in s.metadata["assumed"].split(",")
    scipy_io.savemat(p, {"frames": np.ones((2, 3, 4), "f4"), "fs": 250.0})
    assert read(p).metadata["frame_rate_hz"] == 250.0


# ------------------------------------------------------------- Tekscan exports


def test_tekscan_header_as_the_software_writes_it(tmp_path):
    head = ("VERSION Tekscan Pressure Measurement System 7.00-22I\nHARDWARE 116-1974-1\nSENSOR_TYPE 5076\n"
            "ROW_SPACING 0.508 cm\nCOL_SPACING 0.2 inches\nSENSEL_AREA 25.8064 mm2\nNOISE_THRESHOLD 3\n"
            "SECONDS_PER_FRAME 0.01\nMICRO_SECOND 0\nTIME Thursday, 16 February 2017 11:26:22 a.m.\n"
            "SCALE_FACTOR 1\nEXPONENT 0\nSATURATION_PRESSURE 1.5 MPa\nSENSITIVITY Custom\nCOMMENTS:\n"
            "a walk, 75 kg\nSTART_FRAME 1\nEND_FRAME 2\nUNITS MPa\nMIRROR_ROW 0\nMIRROR_COL 0\n")
    body = "Frame 1\r\nB,0.002,0.003\r\n0.004,0.005,0.006\r\nFrame 2\r\nB,0.008,0.009\r\n0.01,0.011,0.012\r\n@@\r\n"
    p = tekscan(tmp_path, head, body.replace("\r\n", "\n"), eol="\r\n")
    s = read(p)
    m = s.metadata
    assert s.frames.shape == (2, 2, 3)
    assert m["units"] == "kPa"  # MPa read as kPa, values x 1000
    np.testing.assert_allclose(s.frames[1], np.array([[0, 8, 9], [10, 11, 12]], "f4"), rtol=1e-6)
    assert s.mask.tolist() == [[False, True, True], [True, True, True]]
    assert (m["row_pitch_mm"], m["col_pitch_mm"]) == pytest.approx((5.08, 5.08))
    assert m["frame_rate_hz"] == pytest.approx(100.0) and s.time.tolist() == pytest.approx([0.0, 0.01])
    assert m["saturation"] == pytest.approx(1500.0)


@pytest.mark.parametrize("value", ["32 ms", "32 msec", "0.032 frames"])
def test_tekscan_period_with_another_unit_is_refused(tmp_path, value):
    # "32 ms" was read as 32 s (0.03125 Hz) without a word
    p = tekscan(tmp_path, "SECONDS_PER_FRAME %s\n" % value)
    refused(p, 65, "line 4: SECONDS_PER_FRAME '%s'" % value, "a number of seconds")


@pytest.mark.parametrize("value", ["0.032 s", "0.032 sec", "0.032 seconds", "0.032"])
def test_tekscan_period_in_seconds_reads(tmp_path, value):
    assert read(tekscan(tmp_path, "SECONDS_PER_FRAME %s\n" % value)).metadata["frame_rate_hz"] == 31.25


# ------------------------------------------------------ tables from spreadsheets


@pytest.mark.parametrize("text,word,col", [
    ("1,NA,3\n4,5,6\n", "'NA'", 2),            # R's write.csv: a missing value as NA
    ("1;#N/A;3\n4;5;6\n", "'#N/A'", 2),        # Excel's missing value
    ("1.234,5;2;3\n4;5;6\n", "'1.234,5'", 1),  # a thousands mark beside the decimal comma
    ("0x10,2,3\n4,5,6\n", "'0x10'", 1),
])
def test_a_first_line_of_values_with_a_bad_one_is_not_column_names(tmp_path, text, word, col):
    # it was taken for a line of column names over the numbers below it: the
    # file read as one frame of its second line, a data line gone without a word
    p = tmp_path / "m.csv"
    p.write_text(text)
    line = refused(p, 65, "line 1: non-numeric value %s in column %d" % (word, col))
    if word in ("'NA'", "'#N/A'"):
        assert "a missing value? write it as nan" in line


@pytest.mark.parametrize("names,labels", [("a,b,c", 0), ("time,0,1,2", 1), (",0,1,2", 1), ("S1,S2,S3", 0),
                                          ("x,10,y", 0)])
def test_column_names_still_read_as_names(tmp_path, names, labels):
    # names, pandas' over an index or a time column, numbers that count
    p = tmp_path / "m.csv"
    rows = [("%g," % (k / 10) if labels else "") + ",".join(str(3 * k + j) for j in range(3)) for k in range(3)]
    p.write_text(names + "\n" + "\n".join(rows) + "\n")
    s = read(p, grid=(3, 1))
    assert s.frames.shape == (3, 3, 1)
    assert s.frames[:, :, 0].tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def test_semicolon_decimal_comma_crlf_bom_reads(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes(b"\xef\xbb\xbf" + "1,5;2;3;;\r\n4;5,25;6;;\r\n;;;;\r\n".encode())
    s = read(p, text_layout="matrix")
    assert s.frames.shape == (1, 2, 3)
    assert s.frames[0].tolist() == [[1.5, 2.0, 3.0], [4.0, 5.25, 6.0]]


# --------------------------------------------------------------------- numpy


@pytest.mark.parametrize("dtype", ["<U3", "|S3"])
def test_npy_of_text_is_refused_by_its_type(tmp_path, dtype):
    # was "an empty array (a dimension of 0 in its shape)" for a 5 x 3 x 4 array
    p = tmp_path / "a.npy"
    np.save(p, np.arange(60).reshape(5, 3, 4).astype(dtype))
    refused(p, 69, "values of type '%s': text, not numbers" % dtype)


def test_tekscan_pressure_saturation_over_raw_counts_is_unknown(tmp_path):
    # 1514.73 KPa over raw counts was taken as a saturation of 1514.73 counts
    for units, sat in (("Raw", float("inf")), ("Kg/cm2", float("inf")), ("KPa", 1514.73), ("mmHg", 11361.4)):
        p = tekscan(tmp_path, "SATURATION_PRESSURE 1514.73 KPa\nUNITS %s\n" % units, name=units.replace("/", "") + ".asf")
        assert read(p).metadata["saturation"] == pytest.approx(sat, rel=1e-5), units


# ------------------------------------------------------------------- XSENSOR


def _xsensor_block(key, times):
    out = ['"Software:","XSENSOR Pro V8"']
    for k, t in enumerate(times):
        out += ['"Frame:","%d"' % (k + 1), '"%s:","%s"' % (key, t), '"Rows:","2"', '"Columns:","2"',
                '"Sensel Width (cm):","1,27"', '"Sensel Height (cm):","1,27"', '"Units:","mmHg"',
                '"%d","2"' % k, '"3","4"', ""]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("layout", ["block", "wide"])
@pytest.mark.parametrize("key,times,step", [
    ("Elapsed Time (ms)", ["0", "10", "20"], 0.01),  # was 10 s a frame
    ("Time (msec)", ["0", "10", "20"], 0.01),
    ("Elapsed Time (s)", ["0", "0.01", "0.02"], 0.01),
    ("Elapsed Time", ["0", "0,01", "0,02"], 0.01),
    ("Time (ms)", ["12:00:00.000", "12:00:00.010", "12:00:00.020"], 0.01),  # a time of day: seconds
])
def test_xsensor_time_in_the_unit_its_name_says(tmp_path, layout, key, times, step):
    p = tmp_path / "x.csv"
    if layout == "block":
        p.write_text(_xsensor_block(key, times))
    else:
        p.write_text("Frame;%s;S_1_1;S_1_2;S_2_1;S_2_2\n" % key
                     + "".join("%d;%s;%d;2;3;4\n" % (k + 1, t, k) for k, t in enumerate(times)))
    s = read(p)
    assert s.time.tolist() == pytest.approx([0, step, 2 * step], abs=1e-9)
    assert s.metadata["frame_rate_hz"] == pytest.approx(1 / step, rel=1e-6)
    assert s.frames[:, 0, 0].tolist() == [0, 1, 2]


# ------------------------------------------------------------- MAT-files, npz


@pytest.mark.parametrize("kind", ["mat", "npz"])
@pytest.mark.parametrize("units,got,scale", [("KPa", "kPa", 1), ("kpa", "kPa", 1), ("N/cm^2", "N/cm2", 1),
                                             ("MMHG", "mmHg", 1), ("PSI", "kPa", 6.894757293168361),
                                             ("MPa", "kPa", 1000), ("Pa", "kPa", 1e-3), ("bar", None, 0)])
def test_units_spelled_as_exporters_write_them(tmp_path, kind, units, got, scale):
    # 'KPa' (Tekscan's spelling) was refused in a MAT-file or .npz though every text reader takes it;
    # PSI, Pa and MPa were refused ("save the frames converted to kPa") though a Tekscan export's are
    # read converted: now so are these (session 46)
    a = np.arange(2 * 3 * 4, dtype="f4").reshape(2, 3, 4)
    p = tmp_path / ("s." + kind)
    if kind == "mat":
        scipy_io.savemat(p, {"frames": a.transpose(1, 2, 0), "units": units, "frame_rate_hz": 10.0})
    else:
        np.savez(p, frames=a, units=units, frame_rate_hz=10.0)
    if got is None:
        refused(p, 65, "units = '%s': knotmap reads %s" % (units, UNITS_LIST))
    else:
        s = read(p, time_axis="last" if kind == "mat" else "first")
        assert s.metadata["units"] == got and "units" not in s.metadata["assumed"].split(",")
        assert np.array_equal(s.frames, (a.astype("f8") * scale).astype("f4"))  # as C: in double, rounded once


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_excel_separator_line_is_not_data(tmp_path, sep):
    # "sep=;" first (a spreadsheet's hint) was "non-numeric value 'sep='"
    p = tmp_path / "m.csv"
    p.write_text("sep=%s%s\n1%s2%s3\n4%s5%s6\n" % (sep, sep * 2 if sep != "\t" else "", sep, sep, sep, sep))
    s = read(p, text_layout="matrix")
    assert s.frames[0].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert dict(s.metadata["source_header"])["sep"] == sep


@pytest.mark.parametrize("first", ["12:00:00.010", "03/05/2024", "2024/03/05"])  # ISO dates: test_real_exports2
def test_times_of_day_under_names_are_refused_at_their_line(tmp_path, first):
    # the error named line 1's 'time', a name, not the value it could not read
    p = tmp_path / "m.csv"
    p.write_text("time,a,b,c\n%s,1,2,3\n%s,4,5,6\n" % (first, first))
    refused(p, 65, "line 2: non-numeric value '%s' in column 1 (a date or time of day?" % first,
            opts=("--grid", "1x3"))


@pytest.mark.parametrize("kind", ["npy", "npz"])
@pytest.mark.parametrize("shape,frames", [((1, 3, 4), (1, 3, 4)), ((3, 4, 1), (1, 3, 4)), ((5, 3, 4), (5, 3, 4)),
                                          ((3, 4, 5), (5, 3, 4))])
def test_numpy_single_frame_with_a_time_axis_of_one(tmp_path, kind, shape, frames):
    # [1, R, C] (frames[None]) was read as C frames of a 1 x R grid, [R, C, 1] as R frames of C x 1
    a = np.arange(np.prod(shape), dtype="f4").reshape(shape)
    p = tmp_path / ("a." + kind)
    np.save(p, a) if kind == "npy" else np.savez(p, frames=a)
    s = read(p)
    assert s.frames.shape == frames
    ref = a if frames == shape else np.moveaxis(a, -1, 0)
    assert np.array_equal(s.frames, ref)
    assert "time_axis" in s.metadata["assumed"].split(",")


@pytest.mark.parametrize("text,want", [
    ("1,5\t2,25\t3\n4\t5,5\t6\n", [[1.5, 2.25, 3], [4, 5.5, 6]]),          # was 1, 5, 2, 25, 3 / ...
    ("1,5\t2,5\n3,5\t4,5\n", [[1.5, 2.5], [3.5, 4.5]]),                   # was one 2 x 4 frame
    ("a\tb\n1,5\t2,5\n3,5\t4,5\n", [[1.5, 2.5], [3.5, 4.5]]),             # names over them
    ("1,2,3\t\n4,5,6\t\n", [[1, 2, 3], [4, 5, 6]]),                       # commas between values
    ("1\t2\t3\t\n4\t5\t6\t\n", [[1, 2, 3], [4, 5, 6]]),                   # PhysioNet's trailing TAB
])
def test_tab_separated_decimal_commas(tmp_path, text, want):
    p = tmp_path / "m.txt"
    p.write_text(text)
    s = read(p, text_layout="matrix")
    assert s.frames[0].tolist() == want


def test_matlab_v73_rate_outside_the_rule_is_refused(tmp_path):
    # save -v7.3: HDF5 behind MATLAB's 512-byte user block; the same rule as level 5
    p = tmp_path / "v73.mat"
    with h5py.File(p, "w", userblock_size=512) as f:
        for name, value in (("frames", np.ones((5, 4, 3))), ("frame_rate_hz", np.array([[1e9]]))):
            f.create_dataset(name, data=value).attrs["MATLAB_class"] = np.bytes_("double")
    with open(p, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116) + bytes(8) + b"\x00\x02IM")
    refused(p, 65, "variable frame_rate_hz = 1e+09", "not plausible")


# ------------------------------------------------------------ the pitch rule


def test_every_reader_refuses_an_implausible_pitch_naming_its_source(tmp_path):
    # a length in metres written without its unit was read as millimetres
    cases = [(tekscan(tmp_path, "ROW_SPACING 0.00508\nCOL_SPACING 0.00508\n"), "line 4: ROW_SPACING 0.00508",
              "row pitch of 0.00508 mm"),
             (tekscan(tmp_path, "ROW_SPACING 5.08 mm\nCOL_SPACING 5.08 m\n", name="m.asf"), "line 5: COL_SPACING 5.08 m",
              "column pitch of 5080 mm"),
             (_session(tmp_path / "p.h5", {"frame_rate_hz": 10.0, "row_pitch_mm": 5e-3}), "attribute row_pitch_mm",
              "row pitch of 0.005 mm")]
    p = tmp_path / "x.csv"
    p.write_text('"Frame:","1"\n"Rows:","2"\n"Columns:","2"\n"Sensel Width (m):","12.7"\n"1","2"\n"3","4"\n')
    cases.append((p, "line 4: Sensel Width (m) 12.7", "column pitch of 12700 mm"))
    for kind in ("mat", "npz"):
        p = tmp_path / ("p." + kind)
        a = np.ones((2, 3, 4), "f4")
        if kind == "mat":
            scipy_io.savemat(p, {"frames": a, "col_pitch_mm": 2000.0})
        else:
            np.savez(p, frames=a, col_pitch_mm=2000.0)
        cases.append((p, ("variable" if kind == "mat" else "array") + " col_pitch_mm = 2000", "column pitch of 2000 mm"))
    for path, where, what in cases:
        refused(path, 65, where, what, "knotmap reads 0.01 mm to 1000 mm between taxels")


def test_pitch_option_outside_the_rule_and_the_edges(tmp_path):
    p = tekscan(tmp_path, "UNITS KPa\n")
    refused(p, 64, "the pitch given (2000x2000 mm) is not plausible", opts=("--pitch", "2000"))
    refused(p, 64, "the pitch given (0.001x0.001 mm) is not plausible", opts=("--pitch", "0.001"))
    for spacing, mm in (("0.01 mm", 0.01), ("1 m", 1000.0), ("0.2 inches", 5.08)):
        s = read(tekscan(tmp_path, "ROW_SPACING %s\nCOL_SPACING %s\n" % (spacing, spacing), name="e.asf"))
        assert (s.metadata["row_pitch_mm"], s.metadata["col_pitch_mm"]) == pytest.approx((mm, mm))


def test_one_row_grid_with_a_time_column(tmp_path):
    # a strip of taxels with a time column: --grid 1xC took the matrix layout (the same
    # frames) and refused the times ("a first column of times needs one frame per line")
    p = tmp_path / "strip.csv"
    p.write_text("time_ms,a,b,c\n0,1,2,3\n10,4,5,6\n20,7,8,9\n")
    s = read(p, grid=(1, 3))
    assert s.frames.shape == (3, 1, 3) and s.frames[2, 0].tolist() == [7, 8, 9]
    assert s.time.tolist() == pytest.approx([0, 0.01, 0.02]) and s.metadata["frame_rate_hz"] == pytest.approx(100)
    q = tmp_path / "plain.csv"  # without times a 1xC grid reads as before
    q.write_text("1,2,3\n4,5,6\n")
    assert read(q, grid=(1, 3)).frames.tolist() == [[[1, 2, 3]], [[4, 5, 6]]]


# ------------------------------------------------- session 46 (fmt2): leftovers of session 45


@pytest.mark.parametrize("tail", ["Frame 2\n7,8,9\n10,11,12\n@@\n",
                                  "DATA_TYPE MOVIE\nROWS 2\nCOLS 3\nASCII_DATA @@\n",
                                  "exported by a script\n"])
@pytest.mark.parametrize("head", ["", "START_FRAME 1\nEND_FRAME 1\n"])
def test_tekscan_text_after_the_closing_marker_is_refused(tmp_path, tail, head):
    # a second movie or notes after the closing @@ were dropped without a word
    body = "Frame 1\n1,2,3\n4,5,6\n@@\n\n" + tail
    p = tekscan(tmp_path, head + "SECONDS_PER_FRAME 0.01\nUNITS KPa\n", body=body)
    line = 8 + head.count("\n") + 5  # the header, the blank line, frame 1, @@, the blank line
    refused(p, 65, "line %d: '%s' after the closing @@ of line %d" % (line, tail.split("\n")[0], line - 2),
            "cut the file after line %d" % (line - 2))
    # blank lines, a spreadsheet's padding and DOS's Ctrl-Z end-of-file mark after @@ still read
    q = tekscan(tmp_path, head + "UNITS KPa\n", body="Frame 1\n1,2,3\n4,5,6\n@@\n\n,,,\n  \n\x1a", name="ok.asf")
    assert read(q).frames.tolist() == [[[1, 2, 3], [4, 5, 6]]]


@pytest.mark.parametrize("spf", ["0", "0.0", "0 s"])
def test_tekscan_period_zero_is_no_rate(tmp_path, spf):
    # SECONDS_PER_FRAME 0 was refused ("not a positive number"); a period of 0 says no rate:
    # assumed 1 Hz and said, --rate then gives it without a conflict
    p = tekscan(tmp_path, "SECONDS_PER_FRAME %s\nUNITS KPa\n" % spf)
    s = read(p)
    assert s.metadata["frame_rate_hz"] == 1.0 and "frame_rate_hz" in s.metadata["assumed"].split(",")
    s = read(p, rate=50.0)
    assert s.metadata["frame_rate_hz"] == 50.0 and s.time.tolist() == pytest.approx([0, 0.02])
    assert "frame_rate_hz" not in s.metadata["assumed"].split(",")


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_float16_arrays_read_exactly(tmp_path, order, kind):
    # numpy's float16 was refused ("knotmap reads float32/64, ..."): every half is a float32
    a = np.array([0, 1e-7, -2.5, 65504, np.inf, np.nan, 6e-8, -0.0, 1 / 3, 100.25, -65504, 5] * 2,
                 dtype=order + "f2").reshape(4, 2, 3)
    p = tmp_path / ("h." + kind)
    if kind == "npy":
        np.save(p, a)
    else:
        np.savez(p, frames=a, frame_rate_hz=10.0)
    s = read(p)
    assert s.frames.dtype == np.float32 and s.frames.shape == (4, 2, 3)
    assert np.array_equal(s.frames, a.astype("f4"), equal_nan=True)
    assert np.array_equal(np.signbit(s.frames), np.signbit(a.astype("f4")))


def test_units_option_reads_the_units_every_reader_converts(tmp_path):
    # --units psi was refused ("expected kPa, mmHg, N/cm2 or raw") though a Tekscan export's PSI
    # is read converted to kPa: one list (km_units_name) for the option and the readers
    p = tmp_path / "m.txt"
    p.write_text("1 2 3\n4 5 6\n")
    for units, scale in (("psi", 6.894757293168361), ("PSI", 6.894757293168361), ("Pa", 1e-3), ("MPa", 1e3)):
        s = read(p, units=units)
        assert s.metadata["units"] == "kPa" and "units" not in s.metadata["assumed"].split(",")
        assert np.array_equal(s.frames[0], (np.array([[1, 2, 3], [4, 5, 6]], "f8") * scale).astype("f4"))
    out = subprocess.run([str(BIN), "info", "--units", "psi", str(p)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "units:        kPa" in out.stdout, out.stderr
    rc, err = info(p, "--units", "bar")
    assert rc == 64 and "--units: unknown unit 'bar' (kPa, mmHg, N/cm2, psi, Pa, MPa, raw" in err, err
    with pytest.raises(ValueError) as e:
        read(p, units="bar")
    assert str(e.value).startswith("the units given ('bar'): knotmap reads " + UNITS_LIST), e.value


def test_units_option_against_a_tekscan_psi_export(tmp_path):
    # the file's own PSI, read as kPa: --units psi agrees; kPa conflicts (the values are psi);
    # --override replaces the file's unit, its conversion undone (MPa: x 1000 of the file's numbers)
    p = tekscan(tmp_path, "UNITS PSI\nSATURATION_PRESSURE 100 PSI\n")
    base = read(p)
    assert base.metadata["units"] == "kPa" and base.metadata["saturation"] == pytest.approx(689.4757293168361)
    s = read(p, units="psi")
    assert np.array_equal(s.frames, base.frames) and s.metadata["saturation"] == base.metadata["saturation"]
    refused(p, 64, "the units given (kPa) conflict with the file's own PSI (read converted to kPa)",
            opts=("--units", "kPa"))
    s = read(p, units="MPa", override=True)
    assert s.metadata["units"] == "kPa"
    np.testing.assert_allclose(s.frames[0], [[1000, 2000, 3000], [4000, 5000, 6000]], rtol=1e-6)
    assert s.metadata["saturation"] == pytest.approx(100000, rel=1e-9)
    s = read(tekscan(tmp_path, "UNITS KPa\n", name="k.asf"), units="psi", override=True)
    np.testing.assert_array_equal(s.frames[0], (np.array([[1, 2, 3], [4, 5, 6]], "f8") * 6.894757293168361)
                                  .astype("f4"))
    refused(tekscan(tmp_path, "UNITS KPa\n", name="k2.asf"), 64, "the units given (psi) conflict with the "
            "file's own kPa", opts=("--units", "psi"))


@pytest.mark.parametrize("head,labels", [(",0,1", lambda k: "%d," % k), ("time,0,1", lambda k: "%g," % (k * 0.01)),
                                         ("index,0,1", lambda k: "%d," % k), (",0", lambda k: "%d," % k),
                                         ("Unnamed: 0,0,1,2", lambda k: "%d," % k)])
def test_pandas_header_over_one_to_three_columns(tmp_path, head, labels):
    # pandas' to_csv() of 1-3 unnamed columns writes `,0,1` over its index (`time,0,1` with a
    # time index): refused as `empty value in column 1`, or values with a bad one ('time')
    n = head.count(",")
    p = tmp_path / "t.csv"
    p.write_text(head + "\n" + "".join(labels(k) + ",".join(str(10 * k + j) for j in range(n)) + "\n"
                                       for k in range(4)))
    s = read(p, grid=(1, n))
    assert s.frames.shape == (4, 1, n) and s.frames[:, 0, :].tolist() == [[10 * k + j for j in range(n)]
                                                                           for k in range(4)]
    if head.startswith("time"):
        assert s.metadata["frame_rate_hz"] == pytest.approx(100)
    # a first line of numbers with a bad one is still refused at it (1,NA,3 is no header)
    q = tmp_path / "na.csv"
    q.write_text("1,NA,3\n2,3,4\n4,5,6\n")
    refused(q, 65, "line 1: non-numeric value 'NA' in column 2", opts=("--grid", "1x3"))


@pytest.mark.parametrize("text,units,scale,ms", [
    ("time,a,b,c,d\ns,kPa,kPa,kPa,kPa\n", "kPa", 1, False),
    ("time;a;b;c;d\n[s];[kPa];[kPa];[kPa];[kPa]\n", "kPa", 1, False),  # a European spreadsheet's
    ("time,a,b,c,d\nms,mmHg,mmHg,mmHg,mmHg\n", "mmHg", 1, True),     # time over ms: milliseconds
    ("t\tr0c0\tr0c1\tr1c0\tr1c1\n(sec)\t(PSI)\t(PSI)\t(PSI)\t(PSI)\n", "kPa", 6.894757293168361, False),
    (",time,a,b,c,d\n,s,N/cm^2,N/cm2,N/cm2,N/cm2\n", "N/cm2", 1, False),  # pandas' index, empty unit
    ("stamp,a,b,c,d\nms,kPa,kPa,kPa,kPa\n", "kPa", 1, True),         # a unit makes it a time column
])
def test_units_line_under_the_names(tmp_path, text, units, scale, ms):
    # a line of units under the names (a logger's or a spreadsheet's second header row) was
    # refused at line 1 ("non-numeric value 'time'"), which said nothing of line 2
    sep = ";" if ";" in text else "\t" if "\t" in text else ","
    index = text.startswith(",")
    rows = "".join(("%d%s" % (k, sep) if index else "") + sep.join(["%g" % (k * 10 if ms else k * 0.01)]
                   + [str(k + j) for j in range(4)]) + "\n" for k in range(3))
    for name in ("u.csv", "u"):  # by its extension and by its content
        p = tmp_path / name
        p.write_text(text + rows)
        s = read(p, grid=(2, 2))
        assert s.metadata["units"] == units and "units" not in s.metadata["assumed"].split(","), name
        assert s.metadata["frame_rate_hz"] == pytest.approx(100), name
        want = np.array([[k + j for j in range(4)] for k in range(3)], "f8").reshape(3, 2, 2) * scale
        assert np.array_equal(s.frames, want.astype("f4")), name
        shown = text.split("\n")[1].replace("\t", "\\x09")  # control bytes as \xNN, as in every header entry
        assert s.metadata["source_header"]["units line"] == shown, name


@pytest.mark.parametrize("text,words", [
    ("time,a,b\ns,kPa,mmHg\n0,1,2\n", ("line 2: units 'kPa' and 'mmHg' in one table", "pass --units")),
    ("time_ms,a,b\ns,kPa,kPa\n0,1,2\n", ("line 1: the time column 'time_ms' is in ms, its unit on line 2 says s",)),
])
def test_units_line_that_contradicts_itself_is_refused(tmp_path, text, words):
    p = tmp_path / "u.csv"
    p.write_text(text + "0.01,3,4\n")
    refused(p, 65, *words, opts=("--grid", "1x2"))


@pytest.mark.parametrize("name", ["fs", "rate", "sampling_rate", "Fs", "frame_rate"])
def test_foreign_hdf5_rate_named_at_the_root(tmp_path, name):
    # another tool's HDF5 file (h5py) with its rate as a root attribute `fs`: the rate was
    # assumed 1 Hz though a MAT-file's or .npz's `fs` was taken; one list of names now
    frames = np.arange(4 * 2 * 3, dtype="f4").reshape(4, 2, 3)
    p = tmp_path / "h.h5"
    with h5py.File(p, "w") as f:
        f["frames"] = frames
        f.attrs[name] = 250.0
    s = read(p, format="session")
    assert s.metadata["frame_rate_hz"] == 250.0 and s.time.tolist() == pytest.approx([0, 0.004, 0.008, 0.012])
    assumed = s.metadata["assumed"].split(",")
    assert "rate_name" in assumed and "frame_rate_hz" not in assumed
    assert read(p, format="session", rate=100.0).metadata["frame_rate_hz"] == 100.0  # the option wins
    with h5py.File(p, "a") as f:  # a /time gives the rate: the name is not needed
        f["time"] = np.arange(4) * 0.01
    s = read(p, format="session")
    assert s.metadata["frame_rate_hz"] == pytest.approx(100) and "rate_name" not in s.metadata["assumed"]
    q = tmp_path / name.replace("_", "") / "m.mat"  # the same name in a MAT-file
    q.parent.mkdir()
    scipy_io.savemat(q, {"frames": frames.transpose(1, 2, 0), name: 250.0})
    assert read(q).metadata["frame_rate_hz"] == 250.0


def test_foreign_hdf5_rate_names_that_disagree_or_are_no_rate(tmp_path):
    p = tmp_path / "two.h5"
    with h5py.File(p, "w") as f:
        f["frames"] = np.zeros((4, 2, 3), "f4")
        f.attrs["fs"] = 100.0
        f.attrs["sampling_rate"] = 200.0
    refused(p, 65, "attributes fs = 100 and sampling_rate = 200 are both named like a frame rate and disagree",
            opts=("--format", "session"))
    for value in (1e9, "fast"):  # not a rate: assumed, as without it
        q = tmp_path / "no.h5"
        with h5py.File(q, "w") as f:
            f["frames"] = np.zeros((4, 2, 3), "f4")
            f.attrs["fs"] = value
        s = read(q, format="session")
        assert s.metadata["frame_rate_hz"] == 1.0 and "frame_rate_hz" in s.metadata["assumed"].split(",")


def test_h5py_frames_under_another_name_says_rename_then_format(tmp_path):
    # an h5py file with its frames in /pressure was told "pass --format session to read its
    # /frames anyway", which then failed: it says to rename the dataset first
    p = tmp_path / "p.h5"
    with h5py.File(p, "w") as f:
        f["pressure"] = np.zeros((4, 2, 3), "f4")
        f.attrs["fs"] = 100.0
    line = refused(p, 65, "attribute schema is missing and there is no /frames: not a knotmap session",
                   "the file's 3-D dataset is /pressure [4 x 2 x 3]: name it /frames",
                   'f.move("pressure", "frames")', "then pass --format session")
    assert line.index("name it /frames") < line.index("--format session")
    with h5py.File(p, "a") as f:  # doing what it says reads it
        f.move("pressure", "frames")
    s = read(p, format="session")
    assert s.frames.shape == (4, 2, 3) and s.metadata["frame_rate_hz"] == 100.0


@pytest.mark.parametrize("layout", ["block", "wide"])
@pytest.mark.parametrize("times", [
    ["2024-03-05 23:59:59.990", "2024-03-05 23:59:59.995", "2024-03-06 00:00:00.000"],  # ISO, past midnight
    ["3/5/2024 11:59:59.990 PM", "3/5/2024 11:59:59.995 PM", "3/6/2024 12:00:00.000 AM"],  # US, AM/PM
    ["05.03.2024 12:00:00,000", "05.03.2024 12:00:00,005", "05.03.2024 12:00:00,010"],  # German
    ["2024-03-05T12:00:00.000", "2024-03-05T12:00:00.005", "2024-03-05T12:00:00.010"],  # ISO's T
])
def test_xsensor_date_and_time_in_one_field(tmp_path, layout, times):
    # a date and a time of day in one Time field was refused ("is not a time (HH:MM:SS.fff or
    # seconds)"); the date is passed over, the time of day read, midnight rolled over
    p = tmp_path / "x.csv"
    if layout == "block":
        p.write_text(_xsensor_block("Time", times))
    else:
        p.write_text("Frame;Time;S_1_1;S_1_2;S_2_1;S_2_2\n"
                     + "".join("%d;%s;%d;2;3;4\n" % (k + 1, t, k) for k, t in enumerate(times)))
    s = read(p)
    assert s.time.tolist() == pytest.approx([0, 0.005, 0.01], abs=1e-6)
    assert s.metadata["frame_rate_hz"] == pytest.approx(200, rel=1e-6)
    # a field that only looks like one is still refused naming it
    q = tmp_path / "bad.csv"
    q.write_text(_xsensor_block("Time", ["2024-03 12:00:00", "2024-03 12:00:01", "2024-03 12:00:02"]))
    refused(q, 65, "Time '2024-03 12:00:00' is not a time")


@pytest.mark.parametrize("kind", ["tekscan", "xsensor", "text"])
def test_latin1_squared_centimetre_is_a_unit(tmp_path, kind):
    # Windows software writes ANSI (Windows-1252): N/cm followed by the byte B2, not UTF-8's C2 B2.
    # It was no unit: a Tekscan or XSENSOR export read as raw counts (warned), a units line refused
    unit = b"N/cm\xb2"
    p = tmp_path / "l1.csv"
    if kind == "tekscan":
        p = tmp_path / "l1.asf"
        p.write_bytes(b"DATA_TYPE MOVIE\nROWS 2\nCOLS 3\nUNITS " + unit + b"\nASCII_DATA @@\n\n"
                      b"Frame 1\n1,2,3\n4,5,6\n@@\n")
        opts = {}
    elif kind == "xsensor":
        p.write_bytes(_xsensor_block("Time", ["0", "0.01"]).replace("mmHg", "UNIT").encode()
                      .replace(b"UNIT", unit))
        opts = {}
    else:
        p.write_bytes(b"time,a,b,c\ns," + b",".join([unit] * 3) + b"\n0,1,2,3\n0.01,4,5,6\n")
        opts = {"grid": (1, 3)}
    s = read(p, **opts)
    assert s.metadata["units"] == "N/cm2" and "units" not in s.metadata["assumed"].split(",")


@pytest.mark.parametrize("text,rate", [
    ('"","time","a","b"\n"1",0,1,2\n"2",0.01,3,4\n"3",0.02,5,6\n', 100),  # R write.csv(df)
    ('"","a","b"\n"1",1,2\n"2",3,4\n"3",5,6\n', None),                      # without a time column
    ('"","a","b"\n"r1",1,2\n"r2",3,4\n"r3",5,6\n', None),                   # row names of text
    ('"frame";"a";"b"\n"1";1;2\n"2";3;4\n"3";5;6\n', None),                 # write.csv2, a named index
])
def test_r_write_csv_row_names(tmp_path, text, rate):
    # R's write.csv quotes its row names ("1"): refused at line 2 ("non-numeric value '"1"' ...
    # quoted fields"), though a line label is dropped unread
    p = tmp_path / "r.csv"
    p.write_text(text)
    s = read(p, grid=(1, 2))
    assert s.frames[:, 0, :].tolist() == [[1, 2], [3, 4], [5, 6]]
    if rate:
        assert s.metadata["frame_rate_hz"] == pytest.approx(rate)
    q = tmp_path / "q.csv"  # quoted values are still refused, as before
    q.write_text('"a","b"\n"1","2"\n"3","4"\n')
    refused(q, 65, "non-numeric value", "(quoted fields", opts=("--grid", "1x2"))


@pytest.mark.parametrize("layout", ["block", "wide"])
@pytest.mark.parametrize("key,times,step", [
    (b"Elapsed Time (\xb5s)", ["0", "10000", "20000"], 0.01),      # the micro sign in Latin-1 (ANSI)
    (b"Elapsed Time (\xce\xbcs)", ["0", "10000", "20000"], 0.01),  # a Greek mu
    (b"Elapsed Time (h)", ["0", "0.5", "1"], 1800.0),
])
def test_xsensor_time_units_more_spellings(tmp_path, layout, key, times, step):
    # "(\xb5s)" and "(h)" were taken for seconds: 10 ms frames 10000 s apart, half hours 0.5 s
    p = tmp_path / "x.csv"
    if layout == "block":
        p.write_bytes(_xsensor_block("KEY", times).encode().replace(b"KEY", key))
    else:
        p.write_bytes(b"Frame;" + key + b";S_1_1;S_1_2;S_2_1;S_2_2\n"
                      + "".join("%d;%s;%d;2;3;4\n" % (k + 1, t, k) for k, t in enumerate(times)).encode())
    s = read(p)
    assert s.time.tolist() == pytest.approx([0, step, 2 * step], rel=1e-9)
