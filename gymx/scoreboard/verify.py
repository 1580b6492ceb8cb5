"""Verification: re-running an entry's policy greedily on secret seeds, and signing what came out.

`verify_entry` hands the policy to a worker process (`main`, in a fresh Python) under a
wall-clock timeout and an address-space limit. Before it imports gymx the worker installs
an audit hook (`sandbox`) that refuses, for the rest of its life, every network operation (opening
an internet socket, connecting, sending, binding, name lookups) and every way of starting another
program (`subprocess`, `os.system`, `os.exec*`, `os.spawn*`, `os.posix_spawn`, `fork`): a step
that tries one raises `SandboxError` and the re-run fails with its message. Nothing the server
runs there needs either; the hook guards against what it imports (env plugins, libraries) doing
so. It covers Python-level calls only: native code that opens sockets itself is outside it (run
the server without network access for that). The worker loads only the safetensors weights and
the declared network (`gymx.scoreboard.policy`), plays `EPISODES` fresh episodes per seed with
gymx's vector envs (no auto-reset; `gymx.train.runner.evaluate`) from a PRNG key derived from the
server's secret and the entry (HMAC-SHA256), and prints the returns' per-seed means as JSON.

The entry is `verified` when the re-run's IQM over seeds is at least the claimed IQM (the board's
statistic from the uploaded logs) less `TOLERANCE` of its magnitude (at least 1 return unit), and
`disputed` otherwise; a re-run that fails or times out marks it `failed`. A greedy re-run scoring
above the training logs is no dispute: the logs include exploration.

Records are canonical JSON (sorted keys, no spaces) signed with the server's Ed25519 key;
`check_signature` verifies one offline against the public key the server publishes.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

EPISODES = 1000
TOLERANCE = 0.1
TIMEOUT_S = 300.0
MEMORY_BYTES = 16 * 1024**3


class SandboxError(PermissionError):
    """The verification worker tried to reach the network or start a program."""


_PROCESS_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "pty.spawn"}
)
_NETWORK_EVENTS = frozenset({
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname",
    "socket.gethostbyaddr", "socket.getnameinfo", "socket.gethostname",
})  # fmt: skip
_INTERNET = frozenset({int(socket.AF_INET), int(socket.AF_INET6)})


def _refuse(event: str, args: tuple[Any, ...]) -> None:
    # `socket.__new__` is audited with (socket, family, type, proto); a family of -1 means "the default", AF_INET.
    opening_internet_socket = event == "socket.__new__" and len(args) > 1 and (args[1] in _INTERNET or args[1] == -1)
    if event in _NETWORK_EVENTS or opening_internet_socket:
        raise SandboxError(f"gymx: the verification worker may not use the network ({event} {_shown(args)} refused)")
    if event in _PROCESS_EVENTS:
        raise SandboxError(f"gymx: the verification worker may not start programs ({event} {_shown(args)} refused)")


def _shown(args: tuple[Any, ...]) -> str:
    text = ", ".join(repr(arg) for arg in args if not isinstance(arg, socket.socket))
    return text if len(text) <= 200 else text[:200] + "..."


def sandbox() -> None:
    """Refuses network use and program starts in this process from now on (an audit hook cannot be removed)."""
    sys.addaudithook(_refuse)


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def sign(private_key: bytes, record: dict[str, Any]) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(private_key).sign(canonical(record)).hex()


def public_key(private_key: bytes) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return (
        Ed25519PrivateKey.from_private_bytes(private_key)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
        .hex()
    )


def check_signature(record: dict[str, Any], signature: str, public_key_hex: str) -> bool:
    """Whether `signature` (hex) is the server's Ed25519 signature of `record`, for the public key `public_key_hex`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(
            bytes.fromhex(signature), canonical(record)
        )
        return True
    except (InvalidSignature, ValueError):
        return False


def new_private_key() -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def episode_key(secret: bytes, entry_id: int, bundle_sha256: str) -> bytes:
    """The 8 bytes of the raw PRNG key (two uint32) of an entry's re-run: HMAC-SHA256 of the entry under the server's secret."""
    return hmac.new(secret, f"gymx-verify:{entry_id}:{bundle_sha256}".encode(), hashlib.sha256).digest()[:8]


def evaluate(env_id: str, spec_bytes: bytes, weights: bytes, key: bytes, episodes: int) -> list[float]:
    """Each seed's mean greedy return over `episodes` episodes from the raw key `key` (in this process)."""
    import jax.numpy as jnp
    import numpy as np

    from gymx.scoreboard import policy
    from gymx.train import runner

    spec = policy.parse_spec(spec_bytes)
    obs_dim, action_dim, head, low, high = policy.env_dims(env_id)
    if spec["head"] != head:
        raise policy.PolicyError(f"gymx: {env_id}'s actions need head {head!r}, the spec says {spec['head']!r}")
    checked = policy.check(spec, policy.parse_weights(weights), obs_dim, action_dim)
    network = policy.Network(env_id, spec, low, high)
    params = {name: jnp.asarray(array) for name, array in checked.tensors.items()}
    returns = runner.evaluate(network, params, episodes, jnp.asarray(np.frombuffer(key, np.uint32)))
    return [float(r) for r in returns.mean(axis=1)]


# The worker's program: this file is run on its own first (it imports nothing of gymx's) to install
# the sandbox, so that it is in place before `import gymx` loads the installed env plugins.
_WORKER = "import runpy, sys; runpy.run_path(sys.argv[1])['sandbox'](); from gymx.scoreboard import verify; sys.exit(verify.main(sys.argv[2:]))"


def run_worker(
    env_id: str, spec_bytes: bytes, weights: bytes, key: bytes, episodes: int = EPISODES, timeout_s: float = TIMEOUT_S
) -> dict[str, Any]:
    """`evaluate` in a child process with a timeout and an address-space limit: {"seed_means": [...]} or {"error": "..."}."""
    with tempfile.TemporaryDirectory(prefix="gymx-verify-") as directory:
        paths = {
            "spec": os.path.join(directory, "policy.json"),
            "weights": os.path.join(directory, "policy.safetensors"),
        }
        with open(paths["spec"], "wb") as f:
            f.write(spec_bytes)
        with open(paths["weights"], "wb") as f:
            f.write(weights)
        arguments = [env_id, paths["spec"], paths["weights"], key.hex(), str(episodes), str(MEMORY_BYTES)]
        command = [sys.executable, "-c", _WORKER, __file__, *arguments]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout_s, cwd=directory)
        except subprocess.TimeoutExpired:
            return {"error": f"the re-run took longer than {timeout_s:g} s"}
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return {"error": f"the re-run failed: {tail[0]}"}
    return json.loads(lines[-1])


def verdict(claimed: float, rerun: float) -> tuple[str, float]:
    """("verified" or "disputed", the tolerance used)."""
    tolerance = TOLERANCE * max(abs(claimed), 10.0)
    return ("verified" if rerun >= claimed - tolerance else "disputed"), tolerance


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gymx.scoreboard.verify", description="re-run an uploaded policy (the scoreboard's worker)"
    )
    parser.add_argument("env_id")
    parser.add_argument("spec")
    parser.add_argument("weights")
    parser.add_argument("key", help="the raw PRNG key, 16 hex digits")
    parser.add_argument("episodes", type=int)
    parser.add_argument(
        "memory_bytes", type=int, help="the address-space limit this process sets itself before loading anything"
    )
    args = parser.parse_args(argv)
    sandbox()
    resource.setrlimit(resource.RLIMIT_AS, (args.memory_bytes, args.memory_bytes))
    import gymx

    gymx.configure_cpu()
    start = time.perf_counter()
    with open(args.spec, "rb") as f:
        spec_bytes = f.read()
    with open(args.weights, "rb") as f:
        weights = f.read()
    try:
        means = evaluate(args.env_id, spec_bytes, weights, bytes.fromhex(args.key), args.episodes)
    except ValueError as error:
        print(json.dumps({"error": str(error)}))
        return 0
    import jax

    print(
        json.dumps(
            {
                "seed_means": means,
                "wall_s": time.perf_counter() - start,
                "device": jax.devices()[0].device_kind,
                "jax_version": jax.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
