"""Atari 2600 cartridges: the ROM image, its bank-switching scheme, and the per-console bank state.

A cartridge answers the 6507's addresses with A12 set ($1000-$1FFF, 4 KB window). Larger ROMs
switch which 4 KB bank fills that window when the CPU touches a hotspot address, by a read or a
write. A scheme is a row of plain numbers (`Scheme`), so every console in a batch can carry its
own bank while sharing the image; a new scheme is a new row plus, where its rule is not "touching
hotspot i selects bank i", its own case in `touch`.

Detection follows ALE's Stella (`stella_type`): by size, then by code signatures. 2 KB, or 4 KB
whose halves are equal, is "2K" (mirrored); 4 KB is "4K"; 8 KB is "F8" unless both halves are
equal ("4K") or a signature names E0, 3E, 3F, UA or FE; 16 KB "F6" unless E7, 3E or 3F; 32 KB
"F4" unless 3E or 3F. A Superchip (the "SC" variants: 128 bytes of RAM, written at $1000-$107F and
read at $1080-$10FF) is assumed when the first 256 bytes of every bank hold a single value, the
area the RAM hides. Start banks as Stella picks them: F8 and F8SC start in bank 1, F6/F6SC and
F4/F4SC in bank 0. The formats without a scheme here are refused by name instead of being run as
the wrong scheme.

Two schemes do not switch whole 4 KB banks. E0 (Parker Brothers) splits the window into four 1 KB
segments: touching $1FE0+8s+k puts the image's 1 KB slice k into segment s (s = 0, 1, 2), and the
last segment always shows slice 7; its bank state packs the three switchable slices, 3 bits each,
and starts as Stella's reset leaves it (slices 4, 5, 6). FE (Activision) has no switch at all:
the bank is the CPU's address line A13, which the 6507 does not bring to the cartridge but which
the 16-bit addresses of the code keep ($Dxxx reads the image's second 4 KB, $Fxxx its first), as
ALE's Stella reads it; its state stays 0.
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
    "E0": Scheme("E0", 2, 0xFE0, 4 | 5 << 3 | 6 << 6),
    "FE": Scheme("FE", 2, 0x1000, 0),
}
E0_SLICE = 1024


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
        return isinstance(other, Cartridge) and (self.md5, self.scheme, self.superchip) == (
            other.md5,
            other.scheme,
            other.superchip,
        )


def _is_superchip(image: np.ndarray) -> bool:
    banks = image.reshape(-1, BANK_SIZE)[:, :256]
    return bool(np.all(banks == banks[:, :1]))


def _hits(rom: np.ndarray, signature: bytes, minimum: int = 1) -> bool:
    """Whether `signature` occurs at least `minimum` times without overlap (Stella's signature scan,
    which never looks at the image's last `len(signature)` positions)."""
    data, count, i = rom.tobytes(), 0, 0
    end = len(data) - len(signature)
    while count < minimum:
        i = data.find(signature, i)
        if i < 0 or i >= end:
            return False
        count, i = count + 1, i + len(signature) + 1
    return True


def _is_e7(rom: np.ndarray) -> bool:
    # The second RAM block hides $3800-$39FF of the image: one value there, something else around it.
    area = rom[0x3800:0x3A00]
    if not np.all(area == area[0]):
        return False
    return bool(np.any(rom[0x3800 - 32 : 0x3800] != area[0]) or np.any(rom[0x3A00 : 0x3A00 + 32] != area[0]))


_E0 = (b"\x8d\xe0\x1f", b"\x8d\xe0\x5f", b"\x8d\xe9\xff", b"\xad\xe9\xff", b"\xad\xed\xff", b"\xad\xf3\xbf")
_FE = (b"\x20\x00\xd0\xc6\xc5", b"\x20\xc3\xf8\xa5\x82", b"\xd0\xfb\x20\x73\xfe", b"\x20\x00\xf0\x84\xd6")
_CV = (b"\x9d\xff\xf3", b"\x99\x00\xf4")


def stella_type(image: bytes | np.ndarray) -> str:
    """The bank-switching type ALE's Stella gives a ROM with no type in its properties (none of
    the bundled ROMs has one): by size, then by code signatures (E0: accesses of its hotspots;
    3E/3F: stores to $3E/$3F; UA: STA $240; FE: the subroutine calls of the Activision FE games)."""
    rom = np.frombuffer(bytes(image), np.uint8)
    size = rom.size
    is_3e = _hits(rom, b"\x85\x3e\xa9\x00")
    is_3f = _hits(rom, b"\x85\x3f", 2)
    if size and size % 8448 == 0:
        return "AR"
    if size in (2048, 4096):
        if any(_hits(rom, s) for s in _CV):
            return "CV"
        return "2K" if size == 2048 or np.array_equal(rom[:2048], rom[2048:]) else "4K"
    if size == 8192:
        if _is_superchip(rom):
            return "F8SC"
        if np.array_equal(rom[:4096], rom[4096:]):
            return "4K"
        for name, test in (
            ("E0", any(_hits(rom, s) for s in _E0)),
            ("3E", is_3e),
            ("3F", is_3f),
            ("UA", _hits(rom, b"\x8d\x40\x02")),
            ("FE", any(_hits(rom, s) for s in _FE)),
        ):
            if test:
                return name
        return "F8"
    if size in (10240, 10495, 10496):
        return "DPC"
    if size == 12288:
        return "FASC"
    if size == 16384:
        if _is_superchip(rom):
            return "F6SC"
        return "E7" if _is_e7(rom) else "3E" if is_3e else "3F" if is_3f else "F6"
    if size == 32768:
        return "F4SC" if _is_superchip(rom) else "3E" if is_3e else "3F" if is_3f else "F4"
    if size in (65536, 131072):
        return "3E" if is_3e else "3F" if is_3f else ("MB" if size == 65536 else "MC")
    return "3E" if is_3e else "3F" if is_3f else f"unrecognized ({size} bytes)"


def detect(image: bytes | np.ndarray) -> Cartridge:
    """The cartridge for a ROM image, its scheme detected from size and content as Stella does."""
    rom = np.frombuffer(bytes(image), np.uint8).copy()
    md5 = hashlib.md5(rom.tobytes()).hexdigest()
    kind = stella_type(rom)
    if kind == "2K":
        return Cartridge(np.tile(rom[:2048], 2), SCHEMES["2K"], False, md5)
    if kind == "4K":
        return Cartridge(rom[:4096].copy(), SCHEMES["4K"], False, md5)
    if kind.startswith("unrecognized"):
        raise ValueError(f"gymx: unsupported cartridge size {rom.size} bytes (no format of ALE's Stella has it)")
    superchip = kind.endswith("SC")
    if kind.removesuffix("SC") not in SCHEMES:
        raise ValueError(
            f"gymx: the {kind} cartridge format ({rom.size} bytes, md5 {md5}) is not supported "
            f"(supported: {', '.join(SCHEMES)} and the Superchip variants F8SC, F6SC, F4SC)"
        )
    return Cartridge(rom, SCHEMES[kind.removesuffix("SC")], superchip, md5)


def load(path: str | Path) -> Cartridge:
    """Read and detect a ROM file."""
    data = Path(path).read_bytes()
    if not data:
        raise ValueError(f"ROM file {path} is empty")
    return detect(data)


def rom_byte(cart: Cartridge, bank: jax.Array, addr: jax.Array) -> jax.Array:
    """The ROM byte at a cartridge address (A12 set; the low 12 bits count, and A13 for FE, so
    `addr` is the CPU's 16-bit address) in `bank`."""
    image = jnp.asarray(cart.image)
    offset = addr & 0xFFF
    if cart.scheme.name == "E0":
        segment = offset >> 10
        piece = jnp.where(segment == 3, 7, (bank >> (3 * jnp.minimum(segment, 2))) & 7)
        return image[piece * E0_SLICE + (offset & (E0_SLICE - 1))].astype(jnp.int32)
    if cart.scheme.name == "FE":
        return image[jnp.where((addr & 0x2000) != 0, 0, BANK_SIZE) + offset].astype(jnp.int32)
    return image[bank * BANK_SIZE + offset].astype(jnp.int32)


def touch(cart: Cartridge, bank: jax.Array, addr: jax.Array, active: jax.Array) -> jax.Array:
    """The bank after the CPU touched `addr` (one access per element, in order; `active` marks the
    real accesses): the last active hotspot access wins."""
    scheme = cart.scheme
    if scheme.banks == 1 or scheme.name == "FE":
        return bank
    offset = (addr & 0xFFF) - scheme.hotspot
    if scheme.name == "E0":
        # Hotspots $FE0-$FF7: three segments of eight slices each.
        hit = active & ((addr & 0x1000) != 0) & (offset >= 0) & (offset < 24)
        for i in range(addr.shape[0]):
            shift = 3 * (jnp.clip(offset[i], 0, 23) >> 3)
            switched = (bank & ~(7 << shift)) | ((offset[i] & 7) << shift)
            bank = jnp.where(hit[i], switched, bank)
        return bank
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
