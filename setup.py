"""Builds the `llmkit` Python package with CMake: `pip install --no-build-isolation .`

The version comes from CMakeLists.txt (the one version source). Build needs the packages of
scripts/install-deps.sh; nothing is downloaded.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
VERSION = re.search(r"project\(llmkit VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())[1]


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        # build/pip under the source tree: the same layout as the presets' build/<name>, so
        # ccache (CCACHE_BASEDIR, see CMakeLists.txt) reuses what a release build compiled.
        build_dir = ROOT / "build" / "pip"
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DLLMKIT_BUILD_TESTS=OFF", "-DLLMKIT_BUILD_BENCHMARKS=OFF", "-DLLMKIT_BUILD_PYTHON=ON",
            f"-DPython3_EXECUTABLE={sys.executable}",
        ]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_llmkit", "llmkit_cli",
                        "-j", jobs], check=True)
        built = next((build_dir / "python" / "llmkit").glob("_llmkit*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)
        # The `llmkit` command: the C++ binary inside the package, run by the console script.
        cli = target.parent / "_bin" / "llmkit"
        cli.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build_dir / "cli" / "llmkit", cli)
        cli.chmod(0o755)


setup(
    name="llmkit",
    version=VERSION,
    description="Reliable parts for LLM applications: chunkers, tokenizers, templates, retrieval",
    packages=["llmkit"],
    package_dir={"llmkit": "bindings/python/llmkit"},
    package_data={"llmkit": ["*.pyi", "py.typed"]},
    ext_modules=[CMakeExtension("llmkit._llmkit")],
    cmdclass={"build_ext": CMakeBuild},
    entry_points={"console_scripts": ["llmkit = llmkit._cli:main"]},
    python_requires=">=3.9",
    zip_safe=False,
)
