"""The baseline: the plain-Python sync script a user might write instead of strmsync.

`os.walk` the source; for each media file build the `.strm` URL (base + each segment
escaped with `quote(seg, safe="")`, the same text as `strmsync sync --strm url`), read the
existing `.strm`, write it when different; copy metadata with `shutil.copy2` when missing;
then walk the target and delete the files whose source is gone. Sequential, no database,
no atomic writes: fair and reasonable, not deliberately slow.

Run: `python bench/naive.py SOURCE TARGET --url-base URL --media-ext mkv,mp4 --meta-ext nfo`
prints one JSON object with the same counts as `strmsync sync --json`.
"""

import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter
from urllib.parse import quote


def strm_url(url_base: str, rel: str) -> str:
    """The `.strm` text for the source file at `rel`: each path segment escaped on its own."""
    return url_base.rstrip("/") + "/" + "/".join(quote(seg, safe="") for seg in rel.split("/"))


def extension(name: str) -> str:
    """The lower-cased extension without its dot ('' when there is none)."""
    return os.path.splitext(name)[1][1:].lower()


def sync(source: str, target: str, url_base: str, media_exts: set, meta_exts: set) -> Counter:
    """Mirror `source` into `target`; returns the counts of what was done."""
    counts: Counter = Counter()
    expected: set = set()
    for dirpath, _dirnames, filenames in os.walk(source):
        rel_dir = os.path.relpath(dirpath, source)
        rel_dir = "" if rel_dir == "." else rel_dir
        out_dir = os.path.join(target, rel_dir)
        made = False
        for name in filenames:
            ext = extension(name)
            if ext in media_exts:
                out_name = os.path.splitext(name)[0] + ".strm"
                text = strm_url(url_base, os.path.join(rel_dir, name))
                made = _sync_strm(os.path.join(out_dir, out_name), text, made, counts)
            elif ext in meta_exts:
                out_name = name
                made = _sync_meta(os.path.join(dirpath, name), os.path.join(out_dir, out_name),
                                  made, counts)
            else:
                continue
            expected.add(os.path.join(rel_dir, out_name))
            counts["scanned"] += 1
    counts["deleted"] = _remove_orphans(target, expected, meta_exts | {"strm"})
    return counts


def _sync_strm(path: str, text: str, made: bool, counts: Counter) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            current = fh.read()
    except FileNotFoundError:
        current = None
    if current == text:
        counts["skipped"] += 1
        return made
    if not made:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    counts["created" if current is None else "updated"] += 1
    return True


def _sync_meta(src: str, dst: str, made: bool, counts: Counter) -> bool:
    if os.path.exists(dst):
        counts["skipped"] += 1
        return made
    if not made:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst)
    counts["meta_copied"] += 1
    return True


def _remove_orphans(target: str, expected: set, exts: set) -> int:
    deleted = 0
    for dirpath, _dirnames, filenames in os.walk(target):
        rel_dir = os.path.relpath(dirpath, target)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in filenames:
            if extension(name) in exts and os.path.join(rel_dir, name) not in expected:
                os.unlink(os.path.join(dirpath, name))
                deleted += 1
    return deleted


def main(argv: list[str] | None = None) -> int:
    """Run one sync and print its counts as JSON."""
    parser = argparse.ArgumentParser(description="Naive .strm sync (benchmark baseline).")
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--url-base", required=True)
    parser.add_argument("--media-ext", required=True, help="comma-separated")
    parser.add_argument("--meta-ext", required=True, help="comma-separated")
    args = parser.parse_args(argv)
    started = time.monotonic()
    counts = sync(os.path.abspath(args.source), os.path.abspath(args.target), args.url_base,
                  set(args.media_ext.split(",")), set(args.meta_ext.split(",")))
    result = {"status": "succeeded", **{key: counts[key] for key in (
        "scanned", "created", "updated", "skipped", "deleted", "failed", "meta_copied")},
        "duration_s": round(time.monotonic() - started, 3)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
