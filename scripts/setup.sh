#!/usr/bin/env bash
# Installs what building and testing Spangate needs and is missing on a Debian machine
# that has rustup's stable Rust: Debian packages for the RocksDB build (clang/libclang
# for bindgen), protoc for the `tempopb` messages generated from gateway/proto/
# (protobuf-compiler), and the wasm32-wasip2 target for plugins. Safe to run repeatedly.
set -euo pipefail

packages=(clang libclang-dev make protobuf-compiler)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}"
fi

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "setup: adding rustup target wasm32-wasip2"
  rustup target add wasm32-wasip2
fi
