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
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DLLMKIT_BUILD_TESTS=OFF", "-DLLMKIT_BUILD_BENCHMARKS=OFF", "-DLLMKIT_BUILD_PYTHON=ON",
            f"-DPython3_EXECUTABLE={sys.executable}",
        ]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_llmkit", "-j", jobs],
                       check=True)
        built = next((build_dir / "python" / "llmkit").glob("_llmkit*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(
    name="llmkit",
    version=VERSION,
    description="Reliable parts for LLM applications: chunkers, tokenizers, templates, retrieval",
    packages=["llmkit"],
    package_dir={"llmkit": "bindings/python/llmkit"},
    package_data={"llmkit": ["*.pyi", "py.typed"]},
    ext_modules=[CMakeExtension("llmkit._llmkit")],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    zip_safe=False,
)
