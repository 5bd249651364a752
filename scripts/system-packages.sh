#!/bin/sh
# Debian/Ubuntu packages the test suite uses beside Python's: Graphviz's `dot` (the graph
# pictures are rendered for real) and Open MPI (ember.distributed runs under mpirun).
# Installs only what is missing; uses sudo when not root.
set -e
missing=""
command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
command -v mpirun >/dev/null 2>&1 || missing="$missing openmpi-bin libopenmpi-dev"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
