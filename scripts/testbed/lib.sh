# Shared helpers for the testbed scripts (sourced, not executed).
# shellcheck shell=bash

# Prints a TCP port on 127.0.0.1 that is free right now.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  else
    local p
    while :; do
      p=$((20000 + RANDOM % 40000))
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
  fi
}

# wait_until TIMEOUT_SECONDS CMD...: runs CMD every 50 ms until it succeeds; 1 on timeout.
wait_until() {
  local timeout=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# alive PID: the process exists and is not a zombie (an orphan waits for init to reap it).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# stop_pidfile FILE: SIGTERM the process in FILE, wait up to 10 s, then SIGKILL. Removes FILE.
stop_pidfile() {
  local file=$1 pid
  [[ -f $file ]] || return 0
  pid=$(<"$file")
  if [[ -n $pid ]] && alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 200; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$file"
}

# close_inherited_fds: closes every descriptor above 2 (call it in the subshell that execs a
# daemon), so a daemon never holds a pipe or socket of whoever ran the script.
close_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2 && fd != 255)) || continue
    eval "exec $fd>&-" 2>/dev/null || true
  done
}

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
