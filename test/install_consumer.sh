#!/usr/bin/env bash
# install_consumer.sh SOURCE_DIR BUILD_DIR — checks troupe's packaging as a
# user meets it: installs the already-built BUILD_DIR into a temporary prefix,
# then builds test/consumer twice against that prefix, once as a CMake project
# (find_package(troupe) + troupe::troupe, and troupe::troupe_static) and once
# with plain cc and pkg-config, and runs every program built. Exits nonzero on
# the first failure; the temporary prefix is removed either way.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 SOURCE_DIR BUILD_DIR" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { printf '== %s\n' "$*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix"

pc=$(find "$prefix" -name troupe.pc -print -quit)
if [ -z "$pc" ]; then
    echo "install_consumer: no troupe.pc under $prefix" >&2
    exit 1
fi
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir") # troupe.pc is installed in <libdir>/pkgconfig

step "CMake consumer: find_package(troupe), CMAKE_PREFIX_PATH=$prefix"
cmake -S "$src/test/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$tmp/cmake-build"
LD_LIBRARY_PATH=$libdir "$tmp/cmake-build/consumer"
"$tmp/cmake-build/consumer_static"

step "pkg-config consumer: PKG_CONFIG_PATH=$pcdir"
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs troupe)
echo "pkg-config --cflags --libs troupe: $flags"
# The flags must lead into this prefix, not wherever the build was configured
# to install (an earlier install there would otherwise hide the problem).
for var in includedir libdir; do
    dir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=$var troupe)
    case $dir in
    "$prefix"/*) ;;
    *)
        echo "install_consumer: troupe.pc $var=$dir is outside the install prefix $prefix" >&2
        exit 1
        ;;
    esac
done
# shellcheck disable=SC2086 # $flags is a list of words
"${CC:-cc}" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$tmp/pc-consumer" \
    "$src/test/consumer/main.c" $flags
LD_LIBRARY_PATH=$libdir "$tmp/pc-consumer"

step "install_consumer: ok"
