#!/usr/bin/env bash
# Checks the Dockerfile's runtime stage against the built binary: every shared library `ldd remora`
# resolves (but libc6's: C library and loader, in every Debian image) belongs to a Debian package
# the stage installs, the stage installs nothing else, and its user is the chart's UID. The image cannot be built here, so
# this is what keeps a new library from being missed until the container fails to start.
set -euo pipefail
remora=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
dockerfile=$root/Dockerfile

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The runtime stage: from the last FROM to the end, with continuation lines joined.
stage=$(awk '/^FROM / {text = ""} {text = text $0 "\n"} END {printf "%s", text}' "$dockerfile" |
  sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba}')
# The packages of its `apt-get install`: the words after it up to the next `&&`, options aside.
declare -A installed=()
for word in $(grep -o 'apt-get install[^&]*' <<<"$stage"); do
  case "$word" in -* | apt-get | install) ;; *) installed[$word]=1 ;; esac
done
[ "${#installed[@]}" -gt 0 ] || fail "no apt-get install in the Dockerfile's runtime stage"

mapfile -t libraries < <(ldd "$remora" | awk '$2 == "=>" && $3 ~ /^\// {print $3}')
[ "${#libraries[@]}" -gt 0 ] || fail "ldd found no shared library in $remora"

# The packages owning them, from one dpkg -S (one per library takes seconds). With merged /usr,
# ldd and dpkg may name the same file under /lib and /usr/lib, so each library is asked under
# every name it has.
candidates() { printf '%s\n' "$1" "$(readlink -f "$1")" "/usr$1" "${1#/usr}"; }
declare -A owner=()
while IFS= read -r line; do
  owner[${line#*: }]=${line%%:*}
done < <(for library in "${libraries[@]}"; do candidates "$library"; done | sort -u |
  xargs dpkg -S 2>/dev/null || true)
package_of() {
  local candidate
  while IFS= read -r candidate; do
    [ -n "${owner[$candidate]:-}" ] && { echo "${owner[$candidate]}"; return 0; }
  done < <(candidates "$1")
  return 1
}

missing=()
declare -A needed=()
for library in "${libraries[@]}"; do
  package=$(package_of "$library") || fail "no Debian package owns $library"
  [ "$package" = libc6 ] && continue
  needed[$package]=1
  [ -n "${installed[$package]:-}" ] || missing+=("$package ($library)")
done
[ "${#missing[@]}" -eq 0 ] ||
  fail "the Dockerfile's runtime stage does not install: ${missing[*]}"
for package in "${!installed[@]}"; do
  [ -n "${needed[$package]:-}" ] ||
    fail "the Dockerfile's runtime stage installs $package, which remora does not link"
done

uid=$(awk '/^USER / {split($2, ids, ":"); print ids[1]}' <<<"$stage")
chart_uid=$(awk '/runAsUser:/ {print $2; exit}' "$root/helm/remora/values.yaml")
[ -n "$uid" ] && [ "$uid" = "$chart_uid" ] ||
  fail "the image's USER ($uid) is not the chart's runAsUser ($chart_uid)"

echo "1 passed, 0 failed"
