"""The hot path of strmsync: walking, path mapping, STRM text and comparison.

One API, two implementations: the compiled `_cscan` (Cython) and the pure-Python
`_pyscan` twin. `STRMSYNC_NO_EXTENSIONS=1` forces the twin; `STRMSYNC_REQUIRE_EXTENSIONS=1`
makes a missing compiled build an import error instead of a silent fallback.
"""

import os

from _fastscan import _pyscan

_REQUIRE = os.environ.get("STRMSYNC_REQUIRE_EXTENSIONS") == "1"
_FORCE_PURE = os.environ.get("STRMSYNC_NO_EXTENSIONS") == "1" and not _REQUIRE

_impl = _pyscan
if not _FORCE_PURE:
    try:
        from _fastscan import _cscan as _impl  # type: ignore[no-redef]
    except ImportError as exc:
        if _REQUIRE:
            raise ImportError("STRMSYNC_REQUIRE_EXTENSIONS=1, but the compiled _fastscan._cscan"
                              f" could not be imported ({exc}); rebuild with a C compiler")\
                from exc
        _impl = _pyscan

IMPLEMENTATION = "compiled" if _impl is not _pyscan else "pure"

API = (
    "PathEscape",
    "KIND_NONE",
    "KIND_STRM",
    "KIND_META",
    "CMP_EQUAL",
    "CMP_DIFFERENT",
    "CMP_MISSING",
    "CMP_ERROR",
    "REPORT_ERROR",
    "REPORT_DEPTH",
    "REPORT_LOOP",
    "STAT_BROKEN",
    "UNKNOWN",
    "walk",
    "safe_relpath",
    "join_relpath",
    "classify",
    "target_name",
    "quote_path",
    "build_strm",
    "compare_files",
    "copy_files",
    "stat_files",
    "write_files",
    "WriteJob",
    "CopyJob",
    "META_IGNORE",
    "META_KEEP",
    "META_COMPARE",
    "ManifestIndex",
    "scan_folder",
)

PathEscape = _pyscan.PathEscape
KIND_NONE, KIND_STRM, KIND_META = _pyscan.KIND_NONE, _pyscan.KIND_STRM, _pyscan.KIND_META
CMP_EQUAL, CMP_DIFFERENT = _pyscan.CMP_EQUAL, _pyscan.CMP_DIFFERENT
CMP_MISSING, CMP_ERROR = _pyscan.CMP_MISSING, _pyscan.CMP_ERROR
REPORT_ERROR, REPORT_DEPTH = _pyscan.REPORT_ERROR, _pyscan.REPORT_DEPTH
REPORT_LOOP = _pyscan.REPORT_LOOP
STAT_BROKEN, UNKNOWN = _pyscan.STAT_BROKEN, _pyscan.UNKNOWN
META_IGNORE, META_KEEP = _pyscan.META_IGNORE, _pyscan.META_KEEP
META_COMPARE = _pyscan.META_COMPARE

walk = _impl.walk
safe_relpath = _impl.safe_relpath
join_relpath = _impl.join_relpath
classify = _impl.classify
target_name = _impl.target_name
quote_path = _impl.quote_path
build_strm = _impl.build_strm
compare_files = _impl.compare_files
copy_files = _impl.copy_files
stat_files = _impl.stat_files
write_files = _impl.write_files
WriteJob = _impl.WriteJob
CopyJob = _impl.CopyJob
ManifestIndex = _impl.ManifestIndex
scan_folder = _impl.scan_folder


def implementations() -> dict:
    """Every implementation importable in this process, by id (`py`, and `cy` if built)."""
    found = {"py": _pyscan}
    try:
        from _fastscan import _cscan

        found["cy"] = _cscan
    except ImportError:
        pass
    return found
