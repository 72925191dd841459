"""`.ci/dev demo` builds the `knotmap` command only (`--target knotmap_cli`), then
tells how to install it with the library.  Until session 42 it said `cmake --install
build-demo`, which stops at once with "file INSTALL cannot find
build-demo/libknotmap.so.0.1.0": the library was never built.  Every install it
advises must build first while the demo builds a single target (fails on 80e4cd4)."""
import re
from pathlib import Path

DEV = Path(__file__).resolve().parents[2] / ".ci" / "dev"


def demo_section():
    text = DEV.read_text()
    m = re.search(r"^  demo\)\n(.*?)^    ;;", text, re.S | re.M)
    assert m, "no demo) case in .ci/dev"
    return m.group(1)


def test_demo_install_advice_builds_the_library_first():
    demo = demo_section()
    assert "--target knotmap_cli" in demo, "the demo builds more than the command: revisit this test"
    advice = [line for line in demo.splitlines() if line.strip().startswith("echo") and "cmake --install" in line]
    assert len(advice) == 2, advice
    for line in advice:
        assert re.search(r"cmake --build \$DEMO && cmake --install \$DEMO", line), line
