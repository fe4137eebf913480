#!/usr/bin/env bash
# The simulator's HTML report in a real browser: chromium (from PATH, else
# Debian's package) opens it headless, and the test checks that it lays out its
# summary table and draws the page. The simulator's other tests run in the
# rust stage. Costs the chromium install on a fresh machine (about a minute)
# and a few seconds after.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh

need_command chromium chromium chromium
cargo test -p seawall-sim --locked --test browser -- --ignored
