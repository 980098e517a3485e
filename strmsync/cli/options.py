"""Job-option flags shared by `sync`, `job add` and `job edit`."""

import argparse

MIRROR_HELP = ("; a mirror job: mirror (both ways, default), upload (local to share) or"
               " download (share to local)")


def add_sync_flags(p: argparse.ArgumentParser, mirror: bool = False) -> None:
    """Register the flags that set job options (all optional; unset means default/unchanged);
    with `mirror`, --mode also takes a mirror job's directions."""
    modes = ("full", "incremental", *(("mirror", "upload", "download") if mirror else ()))
    p.add_argument("--mode", dest="strategy", choices=modes,
                   help="full: read and compare every .strm, clean up; incremental: skip"
                        " existing targets unread (default: full)"
                        + (MIRROR_HELP if mirror else ""))
    p.add_argument("--strm", dest="strm_mode", choices=("path", "mount", "url"),
                   help="what a .strm holds (default: path)")
    p.add_argument("--mount-prefix", help="prefix for --strm mount")
    p.add_argument("--url-base", help="base URL for --strm url")
    p.add_argument("--meta", dest="meta_mode", choices=("none", "copy", "download"),
                   help="metadata files: none, copy (default) or download")
    p.add_argument("--meta-update", choices=("skip", "update"),
                   help="existing metadata: skip (default), or update when size/mtime differ")
    p.add_argument("--media-ext", dest="media_exts", help="media extensions, comma-separated")
    p.add_argument("--meta-ext", dest="meta_exts", help="metadata extensions, comma-separated")
    p.add_argument("--max-delete",
                   help="largest share of managed files one run may delete (default 10%%"
                        + ("; a mirror job: 50%% of the last sync's files)" if mirror else ")"))
    p.add_argument("--concurrency", type=int, help="parallel file operations (default 4)")
    p.add_argument("--cleanup", choices=("managed", "off"),
                   help="managed: delete orphans strmsync made (default); off: never delete")


OPTION_NAMES = ("strategy", "strm_mode", "mount_prefix", "url_base", "meta_mode", "meta_update",
                "media_exts", "meta_exts", "max_delete", "concurrency", "cleanup")


def option_values(args: argparse.Namespace) -> dict:
    """The options the user gave on the command line, ready for `SyncOptions.from_dict`."""
    return {name: getattr(args, name) for name in OPTION_NAMES
            if getattr(args, name, None) is not None}
