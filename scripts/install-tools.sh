#!/usr/bin/env bash
# Installs the tools the tests run beside the Debian packages, into .build/tools (not in git):
#   - kubectl 1.20, Debian's kubernetes-client, unpacked into .build/tools/kubectl-1.20 (the
#     package ships /usr/bin/kubectl, which would replace the kubectl already on PATH);
#   - a Python venv, .build/tools/venv, with the PyPI tools the chart and OpenAPI tests run.
# Idempotent and non-interactive (CI=true, no stdin).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.build/tools
mkdir -p "$tools"

if [[ ! -x $tools/kubectl-1.20/usr/bin/kubectl ]]; then
    echo "install-tools: kubectl 1.20 (Debian kubernetes-client)" >&2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo -n"
    (cd "$work" && apt-get download kubernetes-client </dev/null >/dev/null 2>&1) || {
        $sudo apt-get update -qq </dev/null
        (cd "$work" && apt-get download kubernetes-client </dev/null >/dev/null)
    }
    rm -rf "$tools/kubectl-1.20"
    dpkg -x "$work"/kubernetes-client_*.deb "$tools/kubectl-1.20"
    "$tools/kubectl-1.20/usr/bin/kubectl" version --client >/dev/null
fi

# Pinned: the versions the tests were written against.
python_tools=(helm-python-sdk==0.2.2 kubernetes-validate==1.37.0 openapi-spec-validator==0.9.0 schemathesis==4.32.5 selenium==4.48.0 paho-mqtt==2.1.0)
stamp="$tools/venv/.installed-$(echo "${python_tools[*]}" | md5sum | cut -c1-12)"
if [[ ! -f $stamp ]]; then
    echo "install-tools: Python venv with ${python_tools[*]}" >&2
    python3 -m venv "$tools/venv" 2>/dev/null || {
        scripts/install-deps.sh python3-venv
        python3 -m venv "$tools/venv"
    }
    "$tools/venv/bin/pip" install -q --disable-pip-version-check "${python_tools[@]}" </dev/null
    touch "$stamp"
fi
