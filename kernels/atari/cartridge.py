"""Atari 2600 cartridges: the ROM image, its bank-switching scheme, and the per-console bank state.

A cartridge answers the 6507's addresses with A12 set ($1000-$1FFF, 4 KB window). Larger ROMs
switch which 4 KB bank fills that window when the CPU touches a hotspot address, by a read or a
write. A scheme is a row of plain numbers (`Scheme`), so every console in a batch can carry its
own bank while sharing the image; a new scheme is a new row plus, where its rule is not "touching
hotspot i selects bank i", its own case in `touch`.

Detection follows what Stella (and so ALE) does for these sizes: 2 KB, or 4 KB whose halves are
equal, is "2K" (mirrored); 4 KB is "4K"; 8 KB is "F8" unless both halves are equal ("4K"); 16 KB
"F6"; 32 KB "F4". A Superchip (the "SC" variants: 128 bytes of RAM, written at $1000-$107F and
read at $1080-$10FF) is assumed when the first 256 bytes of every bank hold a single value, the
area the RAM hides. Start banks as Stella picks them: F8 and F8SC start in bank 1, F6/F6SC and
F4/F4SC in bank 0. Formats that need other detection rules (E0, 3F, FE, FA, E7, ...) are refused
by name instead of being run as the wrong scheme.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

BANK_SIZE = 4096
SUPERCHIP_SIZE = 128


@dataclasses.dataclass(frozen=True)
class Scheme:
    """One bank-switching scheme: `banks` 4 KB banks, `hotspot` the first of `banks` hotspot
    offsets (within the 4 KB window; touching hotspot+i selects bank i), the start bank."""

    name: str
    banks: int
    hotspot: int
    start_bank: int


SCHEMES = {
    "2K": Scheme("2K", 1, 0x1000, 0),
    "4K": Scheme("4K", 1, 0x1000, 0),
    "F8": Scheme("F8", 2, 0xFF8, 1),
    "F6": Scheme("F6", 4, 0xFF6, 0),
    "F4": Scheme("F4", 8, 0xFF4, 0),
}


@dataclasses.dataclass(frozen=True)
class Cartridge:
    """A ROM ready to run: `image` is `banks * 4096` bytes (a 2 KB ROM appears twice)."""

    image: np.ndarray
    scheme: Scheme
    superchip: bool
    md5: str

    @property
    def name(self) -> str:
        return self.scheme.name + ("SC" if self.superchip else "")

    def __hash__(self) -> int:
        return hash((self.md5, self.scheme, self.superchip))

    def __eq__(self, other) -> bool:
        return isinstance(other, Cartridge) and (self.md5, self.scheme, self.superchip) == (other.md5, other.scheme, other.superchip)


def _is_superchip(image: np.ndarray) -> bool:
    banks = image.reshape(-1, BANK_SIZE)[:, :256]
    return bool(np.all(banks == banks[:, :1]))


def detect(image: bytes | np.ndarray) -> Cartridge:
    """The cartridge for a ROM image, its scheme detected from size and content as Stella does."""
    rom = np.frombuffer(bytes(image), np.uint8).copy()
    size = rom.size
    md5 = hashlib.md5(rom.tobytes()).hexdigest()
    if size == 2048 or (size == 4096 and np.array_equal(rom[:2048], rom[2048:])):
        return Cartridge(np.tile(rom[:2048], 2), SCHEMES["2K"], False, md5)
    if size == 4096:
        return Cartridge(rom, SCHEMES["4K"], False, md5)
    by_size = {8192: "F8", 16384: "F6", 32768: "F4"}
    if size not in by_size:
        raise ValueError(f"unsupported cartridge size {size} bytes (supported: 2048, 4096, 8192, 16384, 32768)")
    if _is_superchip(rom):
        return Cartridge(rom, SCHEMES[by_size[size]], True, md5)
    if size == 8192 and np.array_equal(rom[:4096], rom[4096:]):
        return Cartridge(rom[:4096].copy(), SCHEMES["4K"], False, md5)
    return Cartridge(rom, SCHEMES[by_size[size]], False, md5)


def load(path: str | Path) -> Cartridge:
    """Read and detect a ROM file."""
    data = Path(path).read_bytes()
    if not data:
        raise ValueError(f"ROM file {path} is empty")
    return detect(data)


def rom_byte(cart: Cartridge, bank: jax.Array, addr: jax.Array) -> jax.Array:
    """The ROM byte at a cartridge address (A12 set; only the low 12 bits count) in `bank`."""
    image = jnp.asarray(cart.image)
    return image[bank * BANK_SIZE + (addr & 0xFFF)].astype(jnp.int32)


def touch(cart: Cartridge, bank: jax.Array, addr: jax.Array, active: jax.Array) -> jax.Array:
    """The bank after the CPU touched `addr` (one access per element, in order; `active` marks the
    real accesses): the last active hotspot access wins."""
    scheme = cart.scheme
    if scheme.banks == 1:
        return bank
    offset = (addr & 0xFFF) - scheme.hotspot
    hit = active & ((addr & 0x1000) != 0) & (offset >= 0) & (offset < scheme.banks)
    for i in range(addr.shape[0]):
        bank = jnp.where(hit[i], offset[i], bank)
    return bank


def superchip_read(cart: Cartridge, addr: jax.Array) -> jax.Array:
    """Whether a cartridge address reads the Superchip RAM ($1080-$10FF)."""
    if not cart.superchip:
        return jnp.zeros(jnp.shape(addr), bool)
    return (addr & 0x1F80) == 0x1080


def superchip_write(cart: Cartridge, addr: jax.Array) -> jax.Array:
    """Whether an address is the Superchip RAM's write port ($1000-$107F)."""
    if not cart.superchip:
        return jnp.zeros(jnp.shape(addr), bool)
    return (addr & 0x1F80) == 0x1000
