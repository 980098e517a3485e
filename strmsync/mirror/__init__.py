"""Mirror jobs: keep a local folder and a folder on an SMB share in step (DESIGN.md §8)."""
