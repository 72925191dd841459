"""cairo, libsndfile and FFTW are loaded on first use, not at start-up (src/core/dynlib.h).

Checked here: the command does not depend on them (ELF DT_NEEDED, read by
`readelf -d`), nor, for FFTW, libknotmap or the Python extension; a command
that needs none of them runs where they cannot be loaded; one that needs them
fails with exit status 69 (EX_UNAVAILABLE), an error naming the library, the
file and the Debian package, and no output. "Cannot be loaded" is made with
LD_LIBRARY_PATH pointing at a folder whose libcairo.so.2, libsndfile.so.1 and
libfftw3f.so.3 are empty files (the loader searches it first and rejects
them). FFTW: only the zero-phase FIR filters (`--lowpass-hz`,
`--highpass-hz` without `--iir`) and the FFT convolution need it, so a run
with the defaults never maps it (the loader's own trace, LD_DEBUG=files, for
the command; /proc/self/maps for the Python package), and the FIR loaded on
demand still matches scipy's firwin.
"""
import os
import shutil
import subprocess
import sys

import pytest

from km_cli import BIN, run

LIBS = ("libcairo.so.2", "libsndfile.so.1", "libfftw3f.so.3")
FFTW = "libfftw3f.so.3"
# the Python package built beside the command (as .ci/dev runs the tests)
PYDIR = os.environ.get("KNOTMAP_PYTHONPATH") or str(BIN.parent / "python")


@pytest.fixture(scope="module")
def broken_env(tmp_path_factory):
    d = tmp_path_factory.mktemp("nolibs")
    for name in LIBS:
        (d / name).write_bytes(b"")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = str(d) + (":" + env["LD_LIBRARY_PATH"]
                                       if env.get("LD_LIBRARY_PATH") else "")
    return env


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("lazy")
    session, res = d / "s.h5", d / "r.h5"
    assert run("synth", "--duration", "2", "-o", session).returncode == 0
    r = run("process", "-q", session, "-o", res)
    assert r.returncode == 0, r.stderr
    return session, res


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")
def test_not_needed_at_start_up():
    out = subprocess.run(["readelf", "-d", str(BIN)], capture_output=True, text=True,
                         check=True).stdout
    needed = [line for line in out.splitlines() if "(NEEDED)" in line]
    assert needed, out
    for name in LIBS:
        assert not any(name in line for line in needed), needed


def test_commands_without_them_still_run(broken_env, result, tmp_path):
    session, _ = result
    r = run("process", "-q", session, "-o", tmp_path / "r2.h5", env=broken_env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r2.h5").exists()


def test_audio_without_libsndfile(broken_env, tmp_path):
    out = tmp_path / "s.wav"
    r = run("synth", "--duration", "1", "-o", out, env=broken_env)
    assert r.returncode == 69, r.stderr
    assert "libsndfile.so.1" in r.stderr and "s.wav" in r.stderr, r.stderr
    assert "apt-get install libsndfile1" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_reading_audio_without_libsndfile(broken_env, tmp_path):
    wav = tmp_path / "s.wav"
    assert run("synth", "--duration", "1", "-o", wav).returncode == 0
    r = run("info", wav, env=broken_env)
    assert r.returncode == 69, r.stderr
    assert "libsndfile.so.1" in r.stderr and "s.wav" in r.stderr, r.stderr


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_render_without_cairo(broken_env, result, tmp_path, ext):
    _, res = result
    out = tmp_path / f"map.{ext}"
    r = run("render", res, "-o", out, env=broken_env)
    assert r.returncode == 69, r.stderr
    assert "libcairo.so.2" in r.stderr and "apt-get install libcairo2" in r.stderr, r.stderr
    assert not out.exists()


def test_with_them_the_same_as_linked(result, tmp_path):
    """Loaded, they work: a PNG and a WAV come out (their content is checked
    by test_render_eval.py and the audio tests)."""
    _, res = result
    assert run("render", res, "-o", tmp_path / "m.png").returncode == 0
    assert (tmp_path / "m.png").stat().st_size > 1000
    assert run("synth", "--duration", "1", "-o", tmp_path / "s.wav").returncode == 0
    assert (tmp_path / "s.wav").stat().st_size > 1000


# --- FFTW ---------------------------------------------------------------

def loaded_by_loader(env_extra, *args):
    """The command run with the loader's trace on: (result, trace lines
    naming FFTW)."""
    env = dict(os.environ, LD_DEBUG="files", **env_extra)
    r = run(*args, env=env)
    return r, [line for line in r.stderr.splitlines() if FFTW in line and "file=" in line]


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")
def test_fftw_not_linked_by_the_library_nor_the_package():
    """Before session 49 libknotmap.so and the Python extension named
    libfftw3f.so.3 (DT_NEEDED) and the command held FFTW's static archive."""
    shared = [BIN, BIN.parent / "libknotmap.so"]
    shared += [os.path.join(PYDIR, "knotmap", n) for n in
               (os.listdir(os.path.join(PYDIR, "knotmap")) if os.path.isdir(os.path.join(PYDIR, "knotmap")) else [])
               if n.startswith("_knotmap") and n.endswith(".so")]
    checked = 0
    for path in shared:
        if not os.path.exists(path):
            continue
        out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True,
                             check=True).stdout
        assert FFTW not in out, (path, out)
        checked += 1
    assert checked >= 2, shared
    # FFTW's code is not in the command: its version string ("fftw-3.3.10-...",
    # fftwf_version) came with the archive, whatever the symbol table says
    assert b"fftw-3." not in BIN.read_bytes()


def test_default_run_does_not_load_fftw(result, tmp_path):
    session, _ = result
    r, trace = loaded_by_loader({}, "process", "-q", session, "-o", tmp_path / "d.h5")
    assert r.returncode == 0, r.stderr[-400:]
    assert "file=" in r.stderr  # the trace is on
    assert trace == []


@pytest.mark.parametrize("opts", [["--lowpass-hz", "10"], ["--highpass-hz", "0.5"]])
def test_fir_loads_fftw_on_demand(result, tmp_path, opts):
    """The FIR option loads it (dlopen, seen in the loader's trace) and gives
    the result the default IIR does not: /params says FIR, and it differs from
    the same run with --iir (the FIR's values against scipy: below and
    python-bindings/tests/test_dsp_temporal.py)."""
    session, _ = result
    r, trace = loaded_by_loader({}, "process", "-q", *opts, session, "-o", tmp_path / "f.h5")
    assert r.returncode == 0, r.stderr[-400:]
    assert any("dynamically loaded" in line for line in trace), trace
    h5py = pytest.importorskip("h5py")
    r2 = run("process", "-q", "--iir", *opts, session, "-o", tmp_path / "i.h5")
    assert r2.returncode == 0, r2.stderr[-400:]
    with h5py.File(tmp_path / "f.h5", "r") as f, h5py.File(tmp_path / "i.h5", "r") as g:
        assert bool(f["params"].attrs["temporal_fir"]) and not bool(g["params"].attrs["temporal_fir"])
        assert f["metrics/mean"][:].tolist() != g["metrics/mean"][:].tolist()


@pytest.mark.parametrize("opts", [["--lowpass-hz", "10"], ["--highpass-hz", "0.5", "--taps", "31"]])
def test_fir_without_fftw(broken_env, result, tmp_path, opts):
    session, _ = result
    out = tmp_path / "f.h5"
    r = run("process", "-q", *opts, session, "-o", out, env=broken_env)
    assert r.returncode == 69, r.stderr
    assert FFTW in r.stderr and "apt-get install libfftw3-single3" in r.stderr, r.stderr
    assert session.name in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


PY_CHECK = r"""
import sys, numpy as np, scipy.ndimage as ndi, scipy.signal as ss, knotmap
def mapped():
    with open("/proc/self/maps") as f:
        return "libfftw3f" in f.read()
session, out = sys.argv[1], sys.argv[2]
knotmap.process(session, out)
assert not mapped(), "FFTW mapped after a default run"
rng = np.random.default_rng(4)
x = rng.normal(size=(300, 6)).astype(np.float32)
got = knotmap.temporal_filter(x, kind="fir_lowpass", rate_hz=100.0, cutoff_hz=10.0, taps=31)
want = ndi.convolve1d(x.astype(np.float64), ss.firwin(31, 10.0, fs=100.0), axis=0, mode="nearest")
np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
assert mapped(), "FFTW not mapped after the FIR"
print("ok")
"""


def test_python_package_loads_fftw_on_demand(result, tmp_path):
    """The Python package: importing it and a default process leave FFTW
    unmapped; the FIR maps it and matches scipy (firwin, convolved with the
    ends repeated: the definition test_dsp_temporal.py checks in full)."""
    if not os.path.isdir(os.path.join(PYDIR, "knotmap")):
        pytest.skip("the Python package is not built (%s)" % PYDIR)
    if os.environ.get("KNOTMAP_SANITIZED"):
        # An ASan extension needs the runtime loaded before the interpreter
        # (`.ci/sanitize python` preloads it); the plain build's run covers this.
        pytest.skip("sanitized build: the package is tested with the plain build")
    session, _ = result
    env = dict(os.environ, PYTHONPATH=PYDIR)
    r = subprocess.run([sys.executable, "-c", PY_CHECK, str(session), str(tmp_path / "p.h5")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-800:]
