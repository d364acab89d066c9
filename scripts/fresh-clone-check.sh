#!/usr/bin/env bash
# Runs the README's two quick-start commands the way a new user would: on a fresh clone of the committed
# HEAD, with a bare Python (a virtual environment without packages) first on PATH and no pyenv shims on it.
# Usage: bash scripts/fresh-clone-check.sh   (prints the clone's folder; exits with the commands' status)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
git clone -q "$repo" "$work/clone"
python3 -m venv "$work/bare-python"
clean_path=$(echo "$PATH" | tr ':' '\n' | grep -v pyenv | paste -sd: -)
export PATH="$work/bare-python/bin:$clean_path"
echo "fresh clone: $work/clone; python3 is $(command -v python3) ($(python3 --version))"
if python3 -c 'import moto' 2> /dev/null; then
  echo "the bare Python must not have moto" >&2
  exit 1
fi
cd "$work/clone"
npm ci && npx cdk synth --quiet
npx projen test
