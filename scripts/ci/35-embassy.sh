#!/usr/bin/env bash
# seawall-embassy in firmware: build the QEMU firmware (embassy-adapter/firmware)
# for thumbv7m-none-eabi, boot it on QEMU's lm3s6965evb with a time limit, and
# pass only if it exits 0 after printing PASS (it checks its own run: calls,
# rejections, transitions and their timing). Also lints the firmware crate and
# builds the size probes of docs/BENCHMARKS.md for thumbv7em-none-eabihf.
# The adapter's host tests run in the rust stage (`cargo test --workspace`).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh

need_command qemu-system-arm qemu-system-arm qemu
rust_targets thumbv7m-none-eabi thumbv7em-none-eabihf

cd embassy-adapter/firmware
# Not --locked: the firmware's lock also pins the core's dependencies, and a
# new dependency of the core must not break this stage; cargo keeps every
# version already locked and only adds what is new.
cargo fmt --check
cargo clippy --release -- -D warnings
cargo build --release
for features in "" core-breaker breaker; do
  cargo build --release --bin size-probe --target thumbv7em-none-eabihf --features "$features"
done

elf="${CARGO_TARGET_DIR:-target}/thumbv7m-none-eabi/release/seawall-embassy-firmware"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# -icount with sleep=off: virtual time follows the instruction count and skips
# idle time, so the run is deterministic and takes well under a second.
timeout 120 qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb -nographic \
  -semihosting-config enable=on,target=native -icount shift=0,sleep=off \
  -kernel "$elf" | tee "$log" || status=$?
if [ "$status" -ne 0 ]; then
  echo "firmware failed under QEMU (exit status $status; 124 is the time limit)" >&2
  exit 1
fi
grep -qx "PASS: every check matched" "$log" || { echo "firmware exited 0 without PASS" >&2; exit 1; }
echo "firmware passed under QEMU"
