# Sourced by the scripts that start throwaway processes (run-cluster.sh, behind-tls-proxy.sh):
# free loopback ports, waiting for an address to answer, and a temporary folder ($dir) and list
# of started processes ($pids) that are stopped and removed when the script ends, however it ends.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits up to 10 s for URL to answer with a success; -k: a throwaway certificate is not trusted.
wait_for() { for _ in $(seq 1 100); do curl -fsk "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "$1 did not answer" >&2; return 1; }

# usage: throwaway_folder NAME. Sets $dir (readable by nginx's unprivileged workers) and $pids.
throwaway_folder() {
  dir=$(mktemp -d -t "$1-XXXXXX")
  chmod 755 "$dir"
  pids=()
  trap stop_throwaways EXIT INT TERM
}

stop_throwaways() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
