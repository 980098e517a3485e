"""Build the compiled `_fastscan` hot path, falling back to the pure-Python twin.

Without a working C compiler the install still succeeds with the pure twin, unless
STRMSYNC_REQUIRE_EXTENSIONS=1 asks for the compiled build to be mandatory.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

REQUIRE = os.environ.get("STRMSYNC_REQUIRE_EXTENSIONS") == "1"
SKIP = os.environ.get("STRMSYNC_NO_EXTENSIONS") == "1" and not REQUIRE


class OptionalBuildExt(build_ext):
    """A build_ext that warns instead of failing, unless the extension is required."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure means "use the twin"
            self._give_up(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._give_up(exc)

    def _give_up(self, exc):
        if REQUIRE:
            raise
        print(f"strmsync: compiled _fastscan not built ({exc}); using the pure-Python twin",
              file=sys.stderr)


def extensions():
    """The Cython extension list, or nothing when Cython or the build is unavailable."""
    if SKIP:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if REQUIRE:
            raise
        return []
    ext = Extension("_fastscan._cscan", ["_fastscan/_cscan.pyx"], extra_compile_args=["-O2"])
    return cythonize([ext], language_level=3, compiler_directives={"boundscheck": False,
                                                                     "wraparound": False})


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
