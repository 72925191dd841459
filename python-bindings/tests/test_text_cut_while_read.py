"""A text, Tekscan or XSENSOR export cut or rewritten while it is being read (a
sync tool replacing it, an exporter still writing it): the readers survey the
file at open, so a file cut afterwards ended in the middle of a line and was
refused as damaged ("line N: frame F: expected 64 values, found 62", exit 65),
or at a line end and gave fewer frames than announced without a word (session
46, hostile3).  The readers now compare the file's size and modification time
with the open's when a read fails or ends, and say it changed (KM_ERR_IO,
docs/FORMAT.md 1.4 "A file changed while it is read").

Deterministic: the C reader (cffi) reads a first block, the file is cut or
grown, the next blocks must fail naming the change."""
import os

import numpy as np
import pytest

from knotmap._core import ctx, ffi, lib

R, C, T = 8, 8, 3000


def text_lines(path):
    """One frame per line (numpy.savetxt's layout)."""
    a = np.random.default_rng(3).integers(0, 100, (T, R * C))
    with open(path, "w") as f:
        for row in a:
            f.write(",".join(str(int(v)) for v in row) + "\n")


def tekscan(path):
    rows = ["DATA_TYPE MOVIE", "VERSION 7.0", "UNITS kPa", f"ROWS {R}", f"COLS {C}",
            "SECONDS_PER_FRAME 0.01", "ROW_SPACING 0.5 cm", "COL_SPACING 0.5 cm",
            "START_FRAME 1", f"END_FRAME {T}", "ASCII_DATA @@", ""]
    for k in range(T):
        rows.append(f"Frame {k + 1}")
        rows += [",".join(str((k + r * C + c) % 97) for c in range(C)) for r in range(R)]
        rows.append("")
    rows.append("@@")
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")


def xsensor(path):
    rows = []
    for k in range(T):
        rows += [f'"Frame:","{k + 1}"', f'"Time:","12:00:{k // 100 % 60:02d}.{k % 100 * 10:03d}"',
                 f'"Rows:","{R}"', f'"Columns:","{C}"', '"Sensel Width (cm):","1.27"',
                 '"Sensel Height (cm):","1.27"', '"Units:","kPa"']
        rows += [",".join(f'"{(k + r + c) % 50}.5"' for c in range(C)) for r in range(R)]
        rows.append("")
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")


def open_reader(path):
    c = ctx()
    opt = ffi.new("km_read_options *")
    lib.km_read_options_default(opt)
    if path.suffix == ".txt":
        opt.rows, opt.cols = R, C
    out = ffi.new("km_reader **")
    assert lib.km_reader_open(c, str(path).encode(), opt, out) == 0, ffi.string(lib.km_ctx_last_error(c))
    return c, ffi.gc(out[0], lib.km_reader_free)


def read_all(c, reader, after_first=None):
    """Read blocks of 256 frames until the end or a failure (after_first()
    called after the first block): (status, frames read, error text)."""
    buf = np.empty((256, R, C), np.float32)
    n = ffi.new("int64_t *")
    got, st = 0, 0
    while True:
        st = lib.km_reader_read(c, reader, ffi.cast("float *", buf.ctypes.data), ffi.NULL, 256, n)
        got += n[0]
        if st != 0 or n[0] == 0:
            break
        if after_first is not None:
            after_first()
            after_first = None
    return st, got, ffi.string(lib.km_ctx_last_error(c)).decode() if st != 0 else ""


MAKERS = {"txt": text_lines, "asf": tekscan, "csv": xsensor}


def cut_mid_line(path):
    data = path.read_bytes()
    at = data.rfind(b",", 0, len(data) // 2)  # inside a line, a value's separator
    os.truncate(path, at)


def cut_at_line_end(path):
    data = path.read_bytes()
    os.truncate(path, data.rfind(b"\n", 0, len(data) // 2) + 1)


def grow(path):
    with open(path, "ab") as f:
        f.write(path.read_bytes()[-4000:])


@pytest.mark.parametrize("how", [cut_mid_line, cut_at_line_end, grow], ids=["mid-line", "line-end", "grown"])
@pytest.mark.parametrize("ext", sorted(MAKERS))
def test_a_text_export_changed_while_read_says_so(tmp_path, ext, how):
    path = tmp_path / f"s.{ext}"
    MAKERS[ext](path)
    c, reader = open_reader(path)
    st, got, why = read_all(c, reader, lambda: how(path))
    assert st == lib.KM_ERR_IO, (st, got, why)
    assert why.startswith(f"{path}: line "), why
    assert "the file changed while being read" in why, why
    assert got < T or how is grow, got


@pytest.mark.parametrize("ext", sorted(MAKERS))
def test_an_unchanged_text_export_reads_whole(tmp_path, ext):
    path = tmp_path / f"s.{ext}"
    MAKERS[ext](path)
    c, reader = open_reader(path)
    assert read_all(c, reader) == (0, T, "")


def test_a_damaged_line_of_an_unchanged_file_stays_damaged(tmp_path):
    """The change check names only a change: a short line the file had all
    along is the format error it was."""
    path = tmp_path / "s.txt"
    text_lines(path)
    data = path.read_bytes().split(b"\n")
    data[2000] = data[2000].rsplit(b",", 2)[0]
    path.write_bytes(b"\n".join(data))
    c, reader = open_reader(path)
    st, got, why = read_all(c, reader)
    assert st == lib.KM_ERR_FORMAT and "line 2001: frame 2001: expected 64 values, found 62" in why, why
