#!/bin/sh
# Install strmsync from SOURCE into a new virtualenv VENV with the compiled hot path
# required. The add-on's Dockerfile runs exactly this, and so does tests/test_addon.py.
# Usage: install.sh SOURCE VENV
set -eu
# Absolute, so pip never mistakes a bare directory name for a package on the index.
source_dir=$(cd "$1" && pwd)
python3 -m venv "$2"
venv=$(cd "$2" && pwd)

# With STRMSYNC_REQUIRE_EXTENSIONS=1 setup.py fails instead of falling back to the
# pure-Python twin when the compiler or Cython is missing.
STRMSYNC_REQUIRE_EXTENSIONS=1 "$venv/bin/pip" install "$source_dir"

# A build that compiled but does not load (a missing runtime library) must fail too.
version=$(cd / && "$venv/bin/strmsync" --version)
echo "$version"
case "$version" in
    *"(_fastscan: compiled)") ;;
    *) echo "install.sh: the compiled _fastscan is not active" >&2; exit 1 ;;
esac
