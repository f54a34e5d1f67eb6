#!/usr/bin/env bash
# Print the path of a Python interpreter of the given minor version (e.g. 3.13),
# looking at PATH first, then pyenv, then the usual install prefixes.
# A pyenv shim that exists but is not activated is skipped (it only errors).
set -u
want="$1"
works() { "$1" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; }
for candidate in "python$want" "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/$want"*/bin/"python$want" \
    "$HOME/.pyenv/versions/$want"*/bin/"python$want" /usr/local/bin/"python$want" /usr/bin/"python$want" \
    /opt/homebrew/bin/"python$want"; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if works "$path"; then echo "$path"; exit 0; fi
done
echo "error: no Python $want found (install it, e.g. 'pyenv install $want', or set PYTHON_$want)" >&2
exit 1
