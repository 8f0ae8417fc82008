#!/bin/sh
# Build the TensorFlow Playground (github.com/tensorflow/playground) in a temporary folder
# outside this repo, so that benchmarks/playground.py --tf-playground DIR measures it in the
# same run as nnplay. Nothing of it is committed here.
#
#   sh benchmarks/tf_playground.sh [SOURCE]    # SOURCE: a git URL or a local clone
#
# Prints the folder to pass as --tf-playground (its built dist/).
set -eu
src=${1:-https://github.com/tensorflow/playground}
dir=$(mktemp -d "${TMPDIR:-/tmp}/tf-playground.XXXXXX")
git clone -q --depth 1 "$src" "$dir/src" >&2
cd "$dir/src"
mkdir -p dist
npm ci --no-audit --no-fund >&2
npm run build >&2
echo "$dir/src/dist"
