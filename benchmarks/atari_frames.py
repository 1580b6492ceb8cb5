"""Emulated frames of `Machine.frame` under `vmap`, no env around it: the emulator's own speed.

N Pong consoles started from one power-on state (`--start-frame` frames in) run F frames in one
jitted scan; the first call (compile included) is reported apart, then the best of 3 calls by wall
time and by this process's CPU time (the second is the steadier figure on a shared machine). Every
call starts from the same state, so every call emulates the same frames: frames differ widely in
cost (one that never sees VSYNC runs to the 25,000-instruction cap).

    python benchmarks/atari_frames.py --num-envs 64 --frames 1
    python benchmarks/atari_frames.py --num-envs 16 --frames 1 --pixels
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import gymx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--pixels", action="store_true", help="draw the screen (rgb/grayscale observations)")
    parser.add_argument("--game", default="pong")
    parser.add_argument(
        "--start-frame", type=int, default=3, help="frames emulated from power-on before the timed ones"
    )
    args = parser.parse_args()
    import ale_py
    from gymx.kernels.atari import machine

    gymx.configure_cpu()
    m = machine.Machine.for_rom(ale_py.roms.get_rom_path(args.game), pixels=args.pixels)
    cpu, console, _ = m.power_on()
    one = jax.jit(m.frame)
    for _ in range(args.start_frame):
        cpu, console = one(cpu, console)
    batch = lambda tree: jax.tree.map(lambda x: jnp.broadcast_to(x, (args.num_envs, *x.shape)), tree)

    @jax.jit
    def run(cpu, console):
        return jax.lax.scan(lambda carry, _: (jax.vmap(m.frame)(*carry), None), (cpu, console), None, args.frames)[0]

    start_state = (batch(cpu), batch(console))
    start = time.perf_counter()
    jax.block_until_ready(run(*start_state))
    first = time.perf_counter() - start
    wall = cpu_s = float("inf")
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(run(*start_state))
        wall, cpu_s = min(wall, time.perf_counter() - start), min(cpu_s, time.process_time() - start_cpu)
    frames = args.num_envs * args.frames
    print(
        f"{args.game} N={args.num_envs} pixels={args.pixels}: first call {first:.1f} s; best {wall:.2f} s wall, "
        f"{cpu_s:.2f} s CPU -> {frames / wall:.1f} frames/s, {frames / cpu_s:.1f} frames per CPU-second"
    )


if __name__ == "__main__":
    main()
