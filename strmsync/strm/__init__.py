"""STRM jobs: a tree of `.strm` files and metadata copies built from a source (DESIGN.md §2–4)."""
