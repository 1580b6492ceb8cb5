"""The Atari 2600's machine, as pure batched-friendly JAX: so far the MOS 6507 CPU core (`cpu`)."""
