"""pip install ./python-bindings: build the knotmap package offline.

Two routes, tried in order:

1. In-tree (the default from a checkout): run CMake on the repository (the
   folder above this one, or $KNOTMAP_SOURCE_DIR) into a temporary build
   folder with -DKM_BUILD_TESTS=OFF -DKM_BUILD_PYTHON=ON and this
   interpreter, build the `knotmap_python` target (the same recipe as a
   normal build: cffi source generated from include/knotmap.h, the static
   library linked in) and package what it produced.
2. Installed library: when no source tree is found, or
   KNOTMAP_USE_INSTALLED=1, compile the cffi extension against an installed
   knotmap found with pkg-config (`pkg-config knotmap`), linking the shared
   library (with an RPATH to its folder).

The version is the CMake project version in both routes (read from the
top-level CMakeLists.txt, or `pkg-config --modversion knotmap`).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _source_dir():
    cand = os.environ.get("KNOTMAP_SOURCE_DIR") or os.path.dirname(HERE)
    if os.environ.get("KNOTMAP_USE_INSTALLED") == "1":
        return None
    if (os.path.isfile(os.path.join(cand, "include", "knotmap.h"))
            and os.path.isfile(os.path.join(cand, "CMakeLists.txt"))):
        return cand
    return None


def _pkg_config(*args):
    return subprocess.check_output(["pkg-config"] + list(args) + ["knotmap"],
                                   text=True).strip()


SOURCE_DIR = _source_dir()


def _version():
    if SOURCE_DIR:
        with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), encoding="utf-8") as f:
            m = re.search(r"project\(\s*knotmap\s+VERSION\s+([0-9.]+)", f.read())
        if not m:
            raise RuntimeError("no project(knotmap VERSION x.y.z) in CMakeLists.txt")
        return m.group(1)
    try:
        return _pkg_config("--modversion")
    except (OSError, subprocess.CalledProcessError):
        raise RuntimeError(
            "knotmap: no source tree above python-bindings/ (set KNOTMAP_SOURCE_DIR) "
            "and no installed knotmap found by `pkg-config knotmap`") from None


VERSION = _version()


class BuildPy(build_py):
    """Adds the generated _version.py (the one version source)."""

    def run(self):
        super().run()
        with open(os.path.join(HERE, "knotmap", "_version.py.in"), encoding="utf-8") as f:
            text = f.read().replace("@PROJECT_VERSION@", VERSION)
        target = os.path.join(self.build_lib, "knotmap", "_version.py")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)


class BuildExt(build_ext):
    def build_extension(self, ext):
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if SOURCE_DIR:
            self._build_in_tree(target)
        else:
            self._build_installed(target)

    def _build_in_tree(self, target):
        build_dir = tempfile.mkdtemp(prefix="knotmap-cmake-")
        try:
            subprocess.check_call([
                "cmake", "-S", SOURCE_DIR, "-B", build_dir,
                "-DCMAKE_BUILD_TYPE=Release", "-DKM_BUILD_TESTS=OFF",
                "-DKM_BUILD_PYTHON=ON", "-DKM_BUILD_BENCH=OFF",
                "-DPython3_EXECUTABLE=" + sys.executable])
            subprocess.check_call(["cmake", "--build", build_dir, "--target",
                                   "knotmap_python", "-j", str(os.cpu_count() or 1)])
            pkg = os.path.join(build_dir, "python", "knotmap")
            built = [n for n in os.listdir(pkg)
                     if n.startswith("_knotmap.") and n.endswith((".so", ".pyd"))]
            if len(built) != 1:
                raise RuntimeError("expected one built extension in %s, found %r" % (pkg, built))
            shutil.copyfile(os.path.join(pkg, built[0]), target)
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)

    def _build_installed(self, target):
        sys.path.insert(0, os.path.join(HERE, "tools"))
        import build_ffi  # noqa: E402
        cflags = _pkg_config("--cflags-only-I").split()
        incs = [f[2:] for f in cflags if f.startswith("-I")]
        header = None
        for d in incs + ["/usr/local/include", "/usr/include"]:
            if os.path.isfile(os.path.join(d, "knotmap.h")):
                header = os.path.join(d, "knotmap.h")
                break
        if header is None:
            raise RuntimeError("knotmap.h not found in %r" % incs)
        libdirs = [f[2:] for f in _pkg_config("--libs-only-L").split() if f.startswith("-L")]
        ffi = build_ffi.make_ffi(header, include_dirs=incs, library_dirs=libdirs,
                                 runtime_library_dirs=libdirs, libraries=["knotmap"])
        tmp = tempfile.mkdtemp(prefix="knotmap-cffi-")
        try:
            built = ffi.compile(tmpdir=tmp)
            shutil.copyfile(built, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


setup(
    name="knotmap",
    version=VERSION,
    description="Pressure-mapping signal processing: find muscle knots in sensor recordings",
    packages=["knotmap"],
    package_data={"knotmap": ["py.typed"]},  # PEP 561: the package is typed
    ext_modules=[Extension("knotmap._knotmap", sources=[])],
    cmdclass={"build_py": BuildPy, "build_ext": BuildExt},
    install_requires=["numpy", "cffi"],
    # Optional: read_result/is_complete (h5py), DataFrames (pandas), batch on
    # a cluster (dask, distributed), its progress bar (tqdm).  Debian:
    # python3-h5py python3-pandas python3-dask python3-distributed python3-tqdm.
    extras_require={"results": ["h5py"], "pandas": ["h5py", "pandas"],
                    "batch": ["h5py", "dask", "distributed", "tqdm"]},
    python_requires=">=3.9",
    zip_safe=False,
)
