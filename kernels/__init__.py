"""Hot numeric kernels, each tested against a plain `jax.numpy` reference."""
