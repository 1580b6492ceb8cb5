"""The 6507 core's decode under vmap: table-driven (`gymx.kernels.atari.cpu`) against `lax.switch` over 256 opcodes.

Every console runs its own random code: 8,192 bytes (the 6507's view) of uniformly drawn
implemented opcodes, each console starting at its own PC, so neighbouring consoles execute
different instructions at every step, as they do running different game states. Both versions
share fetch, the bus and the one scatter of writes; in the switch version each of the 256
branches is the same pipeline with its opcode's row folded in as constants (the per-opcode code a
hand-written emulator would have), and the branches return registers and bus traffic, not memory.
Compile times are cold (JAX's persistent cache off). Prints a markdown table.

    python benchmarks/atari_cpu.py --num-envs 1024 --steps 256 --repeats 5
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from gymx.kernels.atari import cpu as core


def switch_step(cpu: core.CPU, mem: jax.Array) -> tuple[core.CPU, jax.Array]:
    bus = core.FlatBus.for_memory(mem)
    opcode, op1, op2 = core.fetch(cpu, mem, bus)
    rows = [{name: int(core.TABLE[code, i]) for i, name in enumerate(core.FIELDS)} for code in range(256)]
    branches = [lambda c, m, a, b, row=row: core.execute(c, m, bus, a, b, row) for row in rows]
    out, accesses = jax.lax.switch(jnp.where(cpu.jammed, 0x02, opcode), branches, cpu, mem, op1, op2)
    return out, core.commit(bus, mem, cpu, accesses)


def program(step, steps: int):
    def run(cpu, mem):
        return jax.lax.fori_loop(0, steps, lambda _, c: jax.vmap(step)(*c), (cpu, mem))

    return run


def random_consoles(num_envs: int, seed: int = 0) -> tuple[core.CPU, jax.Array]:
    rng = np.random.default_rng(seed)
    codes = np.asarray(sorted(core.INSTRUCTIONS), np.uint8)
    mem = rng.choice(codes, (num_envs, 8192))
    regs = {k: rng.integers(0, 256, num_envs) for k in ("A", "X", "Y", "S", "P")}
    return core.CPU.make(PC=rng.integers(0xF000, 0x10000, num_envs), **regs), jnp.asarray(mem)


def measure(name: str, step, num_envs: int, steps: int, repeats: int) -> dict:
    cpu, mem = random_consoles(num_envs)
    t0 = time.perf_counter()
    compiled = jax.jit(program(step, steps)).lower(cpu, mem).compile()
    compile_s = time.perf_counter() - t0
    out = jax.block_until_ready(compiled(cpu, mem))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(cpu, mem))
        times.append(time.perf_counter() - t0)
    rate = num_envs * steps / float(np.median(times))
    print(f"{name}: {rate / 1e6:.2f} M instr/s, compile {compile_s:.1f} s", file=sys.stderr)
    return {
        "name": name,
        "rate": rate,
        "lo": num_envs * steps / max(times),
        "hi": num_envs * steps / min(times),
        "compile": compile_s,
        "out": out,
        "jammed": float(np.mean(np.asarray(out[0].jammed))),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=256, help="instructions per console per call")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_compilation_cache", False)

    table = measure("table-driven", core.step_instruction, args.num_envs, args.steps, args.repeats)
    switch = measure("lax.switch", switch_step, args.num_envs, args.steps, args.repeats)
    same = all(
        bool(jnp.array_equal(a, b)) for a, b in zip(jax.tree.leaves(table["out"]), jax.tree.leaves(switch["out"]))
    )
    print(
        f"\n{jax.devices()[0].device_kind} ({platform.processor() or platform.machine()}), jax {jax.__version__}, "
        f"N={args.num_envs}, {args.steps} instructions per console per call, median of {args.repeats}; "
        f"identical final states: {same}; consoles jammed by the end: {table['jammed']:.0%}\n"
    )
    print("| decode | M instr/s (median) | min–max | compile s |")
    print("|---|---:|---:|---:|")
    for row in (table, switch):
        print(
            f"| {row['name']} | {row['rate'] / 1e6:.2f} | {row['lo'] / 1e6:.2f}–{row['hi'] / 1e6:.2f} | {row['compile']:.1f} |"
        )
    print(f"\ntable-driven / lax.switch: {table['rate'] / switch['rate']:.1f}x")


if __name__ == "__main__":
    main()
