"""`knotmap synth -o OUT` replaces only what it could have written itself (docs/CLI.md,
synth): a Tekscan or audio export of knotmap's, never a recording under that name.
Before, the Tekscan and audio exporters replaced any file (a copy of FrasP01L.asf was
overwritten without a word); the session output already refused."""
import wave

import pytest

from km_cli import TEKSCAN, run, run_ok


def _foreign_wav(path):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 100)


@pytest.mark.parametrize("name", ["rec.asf", "rec.csv", "rec.wav", "notes.txt.wav"])
def test_a_foreign_file_is_never_replaced(tmp_path, name):
    out = tmp_path / name
    if name.endswith(".wav"):
        _foreign_wav(out)
    else:
        out.write_bytes(TEKSCAN.read_bytes())
    before = out.read_bytes()
    r = run("synth", "--duration", "1", "-o", out)
    assert r.returncode == 73, r.stderr
    assert f"{out}: exists and is not a knotmap" in r.stderr and "not replacing it" in r.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("ext", ["asf", "csv", "wav", "aiff", "caf", "rf64", "w64", "au"])
def test_synth_replaces_its_own_export(tmp_path, ext):
    out = tmp_path / f"s.{ext}"
    for seed in ("1", "2"):
        r = run("synth", "--duration", "1", "--seed", seed, "-o", out)
        assert r.returncode == 0, r.stderr
    r = run("synth", "--duration", "1", "--no-overwrite", "-o", out)
    assert r.returncode == 73 and "exists" in r.stderr


def test_synth_takes_quiet_as_every_command_that_writes_files(tmp_path):
    """`-q/--quiet` is one name across commands (docs/CLI.md); synth refused it as an
    unknown option until session 41. It prints nothing on success either way."""
    for q in ("-q", "--quiet"):
        r = run_ok("synth", q, "--duration", "1", "-o", tmp_path / ("s%s.h5" % q))
        assert r.stdout == "" and r.stderr == ""
