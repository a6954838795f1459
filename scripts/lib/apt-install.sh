# Sourced by the ensure-*.sh scripts: installs Debian packages when this machine allows it (root, or
# password-less sudo, and apt-get). Returns non-zero when it could not.
apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else return 1; fi
  fi
  command -v apt-get >/dev/null 2>&1 || return 1
  echo "==> Installing $* (Debian packages)"
  $sudo apt-get update -qq
  # Packages' own services are not started: the project runs private servers.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
