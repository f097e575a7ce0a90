# Shared by scripts/run and scripts/test (sourced, not run): make sure .venv
# exists with Python 3.11+ and the project installed with the given extras.
# Usage: ensure_venv ""        (the app)
#        ensure_venv "[test]"  (the app and what the tests need)

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.12 python3.11 python3 python3.13; do
        [ -n "$candidate" ] || continue
        if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' \
            >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {
    local extras="$1" python stamp want
    if [ ! -x .venv/bin/python ]; then
        if ! python="$(find_python)"; then
            echo "Touchpoint needs Python 3.11 or newer (with the venv module):" \
                "none found. Set PYTHON=/path/to/python3.11." >&2
            return 1
        fi
        echo "Creating .venv with $python ..."
        "$python" -m venv .venv || {
            echo "Could not create .venv; on Debian/Ubuntu: apt-get install python3-venv" >&2
            return 1
        }
    fi
    # Reinstall only when pyproject.toml changed since the last install.
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    stamp=".venv/.touchpoint-installed${extras:+-test}"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "Installing Touchpoint${extras:+ and its test tools} into .venv (pinned versions) ..."
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
        echo "$want" >"$stamp"
    fi
}
