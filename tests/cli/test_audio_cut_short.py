"""An audio recording cut short is refused as every other format's is (docs/FORMAT.md 1.5).
Session 43: libsndfile reads the frames a WAV, W64 or AIFF file holds and only logs that
its header declared more ("data : 320 (should be 304)", "Frames : 20"), so a copy cut
short was read as a shorter session without a word (`info`: `frames: 9` of 10 declared).
Now: exit 65, the file named, the frames declared and held. Still read as before: a
header that declares fewer frames than follow (libsndfile reads those it declares) and
the 0xFFFFFFFF length of a writer that streamed. The cut files fail on b471879."""
import struct
import wave

import numpy as np
import pytest

from km_cli import run, run_ok

ROWS, COLS, FRAMES = 4, 4, 10


def pcm_wav(path, frames=FRAMES):
    """A 16-channel 16-bit PCM WAV of `frames` frames (values 0..)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(ROWS * COLS)
        w.setsampwidth(2)
        w.setframerate(100)
        w.writeframes(np.arange(frames * ROWS * COLS, dtype="<i2").tobytes())
    return path


def data_size_at(blob):
    """Offset of the WAV data chunk's size field."""
    return blob.index(b"data") + 4


@pytest.mark.parametrize("keep", [1, 5, 9])
@pytest.mark.parametrize("cmd", ["info", "process"])
def test_wav_cut_short_is_refused(tmp_path, keep, cmd):
    src = pcm_wav(tmp_path / "full.wav").read_bytes()
    cut = tmp_path / "cut.wav"
    frame = ROWS * COLS * 2
    cut.write_bytes(src[:data_size_at(src) + 4 + keep * frame + frame // 2])
    args = ["--grid", "%dx%d" % (ROWS, COLS)]
    r = run(cmd, cut, *args, *(["-o", tmp_path / "r.h5"] if cmd == "process" else []))
    assert r.returncode == 65, r.stdout + r.stderr
    assert ("knotmap: %s: the audio header declares %d frames but the file holds %d: a file "
            "cut short?\n" % (cut, FRAMES, keep)) in r.stderr, r.stderr
    assert not (tmp_path / "r.h5").exists()


def test_header_declaring_less_or_streamed_is_read(tmp_path):
    """A header that declares fewer bytes than follow (libsndfile reads the frames it
    declares) and the streamed length 0xFFFFFFFF (read to the end) are not cut short."""
    src = bytearray(pcm_wav(tmp_path / "full.wav").read_bytes())
    at = data_size_at(src)
    frame = ROWS * COLS * 2
    for name, size, frames in (("less.wav", 4 * frame, 4), ("stream.wav", 0xFFFFFFFF, FRAMES)):
        blob = bytearray(src)
        blob[at:at + 4] = struct.pack("<I", size)
        (tmp_path / name).write_bytes(bytes(blob))
        r = run_ok("info", tmp_path / name, "--grid", "%dx%d" % (ROWS, COLS))
        assert "frames:       %d\n" % frames in r.stdout, (name, r.stdout)
    r = run_ok("info", tmp_path / "full.wav", "--grid", "%dx%d" % (ROWS, COLS))
    assert "frames:       %d\n" % FRAMES in r.stdout


@pytest.mark.parametrize("ext", ["w64", "aiff"])
def test_other_containers_cut_short(tmp_path, ext):
    """knotmap's own audio exports of 20 frames, the last 3.5 cut off (W64 carries no
    comment: its grid is given). A CAF's header is logged past what libsndfile keeps (its
    peak chunk lists every channel), so a CAF is not checked (FORMAT.md 1.5)."""
    full = tmp_path / ("s." + ext)
    run_ok("synth", "--mode", "mat", "--grid", "16x16", "--duration", "1", "--rate", "20",
           "-o", full)
    blob = full.read_bytes()
    cut = tmp_path / ("cut." + ext)
    cut.write_bytes(blob[:len(blob) - 16 * 16 * 4 * 7 // 2])
    r = run("info", cut, "--grid", "16x16")
    assert r.returncode == 65, r.stdout + r.stderr
    assert ("knotmap: %s: the audio header declares 20 frames but the file holds 16: a file "
            "cut short?\n" % cut) in r.stderr, r.stderr
