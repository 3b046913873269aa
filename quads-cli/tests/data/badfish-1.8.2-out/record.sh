#!/usr/bin/env bash
# Re-records the Badfish output goldens of this directory: for every case of cases.txt (or only
# the cases named as arguments), a fresh lab (the quads-lab binary, of the case's flavour,
# default dell), the real Badfish of the peers venv against its first BMC, its
# standard error and exit code into <case>.txt with the BMC's address replaced by {bmc} and a
# screenshot's or an SCP export's time by {time}.
# Run from the repository root after `cargo build -p testkit --bin quads-lab` and
# `cargo xtask peers`:  quads-cli/tests/data/badfish-1.8.2-out/record.sh [CASE...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
badfish="$root/target/peers/bin/badfish"
lab_bin="$root/target/debug/quads-lab"
"$badfish" --version 2>&1 | grep -q "1.8.2" || { echo "needs Badfish 1.8.2 in target/peers" >&2; exit 1; }
work="$(mktemp -d)"
lab_pid=""
trap '[ -z "$lab_pid" ] || kill "$lab_pid" 2>/dev/null; rm -rf "$work"' EXIT
while IFS=';' read -r name args flavor; do
  [ -n "$name" ] || continue
  name="${name#!}"
  flavor="$(echo "${flavor:-dell}" | tr -d ' ')"
  if [ "$#" -gt 0 ]; then
    case " $* " in *" $name "*) ;; *) continue ;; esac
  fi
  rm -rf "$work/lab" "$work/lab.log"
  "$lab_bin" --hosts 2 --flavors "$flavor" --time-scale 0 --seed 1 --no-host-ssh \
    --out-dir "$work/lab" > "$work/lab.log" 2>&1 &
  lab_pid=$!
  for _ in $(seq 100); do
    grep -qs "serving until" "$work/lab.log" && [ -s "$work/lab/host-list.txt" ] && break
    sleep 0.1
  done
  bmc="$(head -1 "$work/lab/host-list.txt")"
  dead="127.0.9.9:${bmc##*:}"
  printf '%s\n' "$bmc" > "$work/list"
  printf '%s\n%s\n' "$bmc" "$dead" > "$work/list2"
  expanded="${args//\{bmc\}/$bmc}"
  expanded="${expanded//\{dead\}/$dead}"
  expanded="${expanded//\{list\}/$work/list}"
  expanded="${expanded//\{list2\}/$work/list2}"
  expanded="${expanded//\{interfaces\}/$work/lab/interfaces.yml}"
  expanded="${expanded//\{scp-profile\}/$here/scp-profile.json}"
  expanded="${expanded//\{scp-malformed\}/$here/scp-malformed.json}"
  env=(BADFISH_USERNAME=root)
  case " $expanded " in *" -p "*) ;; *) env+=(BADFISH_PASSWORD=calvin) ;; esac
  # shellcheck disable=SC2086 # the case's arguments are split on spaces on purpose
  set +e
  (cd "$work" && env -i PATH="$PATH" HOME="$work" "${env[@]}" "$badfish" --insecure $expanded \
    > /dev/null 2> "$work/err")
  code=$?
  set -e
  { sed -e "s/$bmc/{bmc}/g" -e "s/$dead/{dead}/g" \
      -e 's/_screenshot_[0-9]\{8\}-[0-9]\{6\}/_screenshot_{time}/g' \
      -e 's/[0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}_[0-9]\{6\}_targets_/{time}_targets_/g' "$work/err"
    echo "exit: $code"; } \
    > "$here/$name.txt"
  kill "$lab_pid"; wait "$lab_pid" 2>/dev/null || true
  lab_pid=""
  echo "$name: exit $code"
done < <(grep -v '^#' "$here/cases.txt")
