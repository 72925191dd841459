"""`cmake --install` gives a usable library: header, shared library, CMake
package (knotmap::knotmap) and a relocatable knotmap.pc.  A consumer built
each way finds peaks on a frame and prints the linked version."""
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("KNOTMAP_BIN", os.path.join(REPO, "build", "knotmap"))
BUILD = os.path.dirname(os.path.abspath(BIN))

CONSUMER = r"""
#include <stdio.h>
#include <knotmap.h>
int main(void)
{
    static const float v[5 * 5] = {0, 0, 0, 0, 0,  0, 1, 0, 0, 0,  0, 0, 0, 0, 0,
                                   0, 0, 0, 3, 0,  0, 0, 0, 0, 0};
    km_ctx *ctx = NULL;
    km_peak_params p;
    km_peak peaks[8];
    size_t n = 0;
    km_frame f = {v, 5, 5, 5};
    if (km_ctx_create(&ctx) != KM_OK)
        return 2;
    km_peak_params_default(&p);
    if (km_find_peaks(ctx, &f, NULL, &p, peaks, 8, &n) != KM_OK)
        return 3;
    printf("%s %zu %d %d\n", km_version_string(), n, (int)peaks[0].row, (int)peaks[0].col);
    km_ctx_free(ctx);
    return 0;
}
"""

CMAKELISTS = """
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(knotmap REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE knotmap::knotmap)
"""


def _version():
    return subprocess.run([BIN, "--version"], capture_output=True, text=True,
                          check=True).stdout.split()[1]


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    if not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")):
        pytest.skip("no CMake build next to KNOTMAP_BIN")
    if os.environ.get("KNOTMAP_SANITIZED"):
        # An ASan library needs the runtime loaded first; a plain consumer
        # cannot run it.  The plain build's run covers installing.
        pytest.skip("sanitized build: installing is tested with the plain build")
    root = tmp_path_factory.mktemp("install")
    # Installed somewhere else than the configured prefix: the package
    # files must follow the files, not the configure-time prefix.
    subprocess.run(["cmake", "--install", BUILD, "--prefix", str(root)], check=True,
                   capture_output=True)
    return root


def _run_consumer(exe, prefix):
    libdirs = [os.path.dirname(p) for p in
               subprocess.run(["find", str(prefix), "-name", "libknotmap.so*"],
                              capture_output=True, text=True).stdout.split()]
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(libdirs))
    out = subprocess.run([exe], capture_output=True, text=True, env=env, check=True).stdout
    version, n, row, col = out.split()
    assert version == _version()
    # Two peaks (exclude_border 1 drops only row/col 0 and 4); the 3 at
    # (3, 3) comes first in the total order.
    assert (int(n), int(row), int(col)) == (2, 3, 3)


def test_installed_files(prefix):
    names = {os.path.relpath(os.path.join(d, f), prefix)
             for d, _, fs in os.walk(prefix) for f in fs}
    for want in ("include/knotmap.h", "include/knotmap_version.h", "bin/knotmap"):
        assert want in names, sorted(names)
    assert any(n.endswith("cmake/knotmap/knotmapConfig.cmake") for n in names)
    assert any(n.endswith("pkgconfig/knotmap.pc") for n in names)
    assert any(os.path.basename(n).startswith("libknotmap.so.") for n in names)


def test_consumer_with_pkg_config(prefix, tmp_path):
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config not installed")
    pc = subprocess.run(["find", str(prefix), "-name", "knotmap.pc"], capture_output=True,
                        text=True).stdout.split()[0]
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "knotmap"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    assert any(f.startswith("-I" + str(prefix)) or str(prefix) in f for f in flags), flags
    src = tmp_path / "main.c"
    src.write_text(CONSUMER)
    exe = tmp_path / "consumer"
    subprocess.run(["cc", "-std=c11", str(src), "-o", str(exe), *flags], check=True)
    _run_consumer(str(exe), prefix)


def test_consumer_with_find_package(prefix, tmp_path):
    (tmp_path / "main.c").write_text(CONSUMER)
    (tmp_path / "CMakeLists.txt").write_text(CMAKELISTS)
    b = tmp_path / "b"
    subprocess.run(["cmake", "-S", str(tmp_path), "-B", str(b),
                    "-DCMAKE_PREFIX_PATH=" + str(prefix)], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(b)], check=True, capture_output=True)
    _run_consumer(str(b / "consumer"), prefix)
