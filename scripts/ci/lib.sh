# Helpers shared by the stages of scripts/test.sh (sourced, not run).

# Makes sure a command is on PATH: uses it if it is there, else installs the
# Debian package that provides it (as root, or with sudo), else says what to
# install and fails.
# Usage: need_command COMMAND DEBIAN_PACKAGE HOMEBREW_PACKAGE
need_command() {
  local command=$1 package=$2 brew=$3
  command -v "$command" >/dev/null && return 0
  if command -v apt-get >/dev/null; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing $package (Debian) for $command"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package"
  fi
  command -v "$command" >/dev/null && return 0
  echo "$command is not on PATH: install it (Debian and Ubuntu: apt-get install $package;" \
    "macOS: brew install $brew), then run this stage again" >&2
  return 1
}

# Adds Rust targets that are missing.
rust_targets() {
  local installed
  installed=$(rustup target list --installed)
  for target in "$@"; do
    grep -qx "$target" <<<"$installed" || rustup target add "$target"
  done
}
