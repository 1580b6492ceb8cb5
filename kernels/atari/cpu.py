"""The MOS 6507 (an NMOS 6502 with 13 address lines): one instruction per step, table-driven, batched.

`step_instruction(cpu, mem)` executes one whole instruction of one console; `vmap` it over
consoles, each of which may run a different opcode. Decode is a lookup, not a branch: the opcode
gathers one row of `TABLE` (256 x `len(FIELDS)` int32), whose columns drive a fixed pipeline that
every console runs alike:

1. fetch: one gather of the three bytes at PC, PC+1, PC+2;
2. pointer: one gather of two bytes at a pointer that the row selects (the zero-page pointer of
   `(zp,X)` / `(zp),Y`, `JMP (abs)`'s pointer with its page-wrap bug, the stack for RTS/RTI, the
   BRK vector at $FFFE); the high byte always comes from the same page as the low one;
3. operand: one gather of the byte at the effective address (also the stack top for PLA/PLP/RTI);
4. ALU: a read-modify-write unit (shift/rotate left or right, increment, decrement, or pass) whose
   result feeds an accumulator unit (OR/AND/EOR, one binary/decimal adder that also does SBC and
   the compares, BIT, and the undocumented ANC/ALR/ARR); chaining the two is exactly what the
   undocumented SLO/RLA/SRE/RRA/DCP/ISC do, so they cost no extra case;
5. flags: `P = ((P & ~fmask) | (computed & fmask) | set) & ~clear`, with the masks from the row;
6. one scatter of at most three bytes (three only for BRK, two for JSR), unused slots dropped.

Memory goes through a bus (`FlatBus` here): `peek` reads without side effects and `commit` gets
every access of the instruction at once (reads with an "actually accessed" flag, the writes, and
the instruction's cycle), which is the seam for the RIOT, TIA and cartridge: hotspot reads and
timer reads are side effects that `commit` can apply, and TIA writes know their cycle. A flat bus
over `uint8[2**k]` masks every address to k bits: 8,192 bytes is the 6507's view, 65,536 the full
6502 view that the py65 parity tests use. PC itself stays 16-bit (a 6507 ROM at $F000 runs with
PC = $Fxxx, as in Stella).

Semantics follow the NMOS 6502 and py65 1.2.0 (the test reference) with these deliberate choices:
- decimal ADC/SBC as the NMOS part: ADC's N and V from the sum after the low-nibble adjust, Z from
  the binary sum, C from the decimal sum; SBC's flags all from the binary difference (py65 computes
  the same for every input, valid BCD or not: checked exhaustively in the tests). ALE's Stella
  computes them otherwise (through decimal tables, N and Z from the result, its own V, and its own
  results for bytes that are not BCD), and games see the difference (Tutankham branches on N after
  a decimal SBC of a non-BCD byte): the console (`machine.Machine`) runs `stella_decimal=True`,
  tested exhaustively against a transcription of Stella's code;
- P keeps bits 4 and 5 set (the 6502 has no B flag in the register; PHP/BRK push them as 1, and
  PLP/RTI set them), as py65 does after reset;
- DEC abs ($CE) takes 6 cycles; py65 1.2.0 counts 3 (its table's only cycle error);
- undocumented opcodes: LAX, SAX, DCP, ISC, SLO, RLA, SRE, RRA, ANC, ALR, ARR (decimal mode as
  the NMOS part), SBX, SBC $EB and every NOP/DOP/TOP, which py65 does not implement; the unstable
  ones (XAA $8B, LXA $AB, LAS $BB, SHA $93/$9F, SHX $9E, SHY $9C, TAS $9B) and the twelve JAM
  opcodes set `jammed`: the CPU then stops (PC and registers frozen) but its clock runs on at two
  cycles per step, so cycle-driven loops over a batch still end.

Why table-driven: under `vmap`, `lax.switch` over 256 opcodes lowers to a select that computes
every branch for every console. Measured with `python benchmarks/atari_cpu.py --num-envs 1024
--steps 256 --repeats 5` (1,024 consoles each running its own random code, 8 KB memory each; this
2-core CPU shared with other jobs, load 4-5): table-driven 3.2-6.0 M instructions/s (compile
1.7-2.7 s) against 0.35-0.62 M for a `lax.switch` whose 256 branches are this same pipeline with
their row folded in as constants (compile 32-42 s): 9-10x, identical final states. Writing
memory is about a third of a step: dropping the commit entirely gave 7.4 M against 5.0 M in one
process. Neither a scatter hinted `unique_indices` (each unused slot aimed at its own
out-of-range index) nor a write-back of the old byte where no write is due (an extra gather)
measured faster than the dropped out-of-range scatter, within this machine's noise, and nor did
effective-address arithmetic from three more table columns instead of the select chains (slower
in three alternating pairs). Not yet measured: flags as separate fields instead of P, int32
instead of uint8 register fields (details in benchmarks/RESULTS.md, "Atari 2600: the 6507 CPU
core").
"""

from __future__ import annotations

from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from gymx import struct

# Status register bits.
C_FLAG, Z_FLAG, I_FLAG, D_FLAG, B_FLAG, U_FLAG, V_FLAG, N_FLAG = (1 << bit for bit in range(8))
NZ, NZC, NVZ, NVZC = (
    N_FLAG | Z_FLAG,
    N_FLAG | Z_FLAG | C_FLAG,
    N_FLAG | V_FLAG | Z_FLAG,
    N_FLAG | V_FLAG | Z_FLAG | C_FLAG,
)

RESET_VECTOR = 0xFFFC
IRQ_VECTOR = 0xFFFE
JAM_CYCLES = 2

# Addressing modes: name -> (instruction length, effective-address kind, pointer kind).
# Effective-address kinds: 0 none/immediate, 1 zp, 2 zp+X, 3 zp+Y, 4 abs, 5 abs+X, 6 abs+Y,
# 7 (zp,X), 8 (zp),Y, 9 stack top (0x100 + S + 1).
# Pointer kinds: 0 none, 1 zp+X, 2 zp, 3 abs (JMP indirect), 4 S+1, 5 S+2, 6 the BRK vector.
MODES = {
    "imp": (1, 0, 0),
    "acc": (1, 0, 0),
    "imm": (2, 0, 0),
    "rel": (2, 0, 0),
    "zp": (2, 1, 0),
    "zpx": (2, 2, 0),
    "zpy": (2, 3, 0),
    "abs": (3, 4, 0),
    "abx": (3, 5, 0),
    "aby": (3, 6, 0),
    "ind": (3, 0, 3),
    "inx": (2, 7, 1),
    "iny": (2, 8, 2),
}

# Every implemented opcode: "opcode mnemonic mode cycles", a trailing "+" where crossing a page
# while indexing costs one more cycle. Branch penalties (+1 taken, +1 more across a page) are rules.
OPCODES = """
69 ADC imm 2   65 ADC zp 3    75 ADC zpx 4   6D ADC abs 4   7D ADC abx 4+  79 ADC aby 4+  61 ADC inx 6  71 ADC iny 5+
29 AND imm 2   25 AND zp 3    35 AND zpx 4   2D AND abs 4   3D AND abx 4+  39 AND aby 4+  21 AND inx 6  31 AND iny 5+
09 ORA imm 2   05 ORA zp 3    15 ORA zpx 4   0D ORA abs 4   1D ORA abx 4+  19 ORA aby 4+  01 ORA inx 6  11 ORA iny 5+
49 EOR imm 2   45 EOR zp 3    55 EOR zpx 4   4D EOR abs 4   5D EOR abx 4+  59 EOR aby 4+  41 EOR inx 6  51 EOR iny 5+
C9 CMP imm 2   C5 CMP zp 3    D5 CMP zpx 4   CD CMP abs 4   DD CMP abx 4+  D9 CMP aby 4+  C1 CMP inx 6  D1 CMP iny 5+
E9 SBC imm 2   E5 SBC zp 3    F5 SBC zpx 4   ED SBC abs 4   FD SBC abx 4+  F9 SBC aby 4+  E1 SBC inx 6  F1 SBC iny 5+
A9 LDA imm 2   A5 LDA zp 3    B5 LDA zpx 4   AD LDA abs 4   BD LDA abx 4+  B9 LDA aby 4+  A1 LDA inx 6  B1 LDA iny 5+
85 STA zp 3    95 STA zpx 4   8D STA abs 4   9D STA abx 5   99 STA aby 5   81 STA inx 6   91 STA iny 6
0A ASL acc 2   06 ASL zp 5    16 ASL zpx 6   0E ASL abs 6   1E ASL abx 7
2A ROL acc 2   26 ROL zp 5    36 ROL zpx 6   2E ROL abs 6   3E ROL abx 7
4A LSR acc 2   46 LSR zp 5    56 LSR zpx 6   4E LSR abs 6   5E LSR abx 7
6A ROR acc 2   66 ROR zp 5    76 ROR zpx 6   6E ROR abs 6   7E ROR abx 7
E6 INC zp 5    F6 INC zpx 6   EE INC abs 6   FE INC abx 7
C6 DEC zp 5    D6 DEC zpx 6   CE DEC abs 6   DE DEC abx 7
A2 LDX imm 2   A6 LDX zp 3    B6 LDX zpy 4   AE LDX abs 4   BE LDX aby 4+
A0 LDY imm 2   A4 LDY zp 3    B4 LDY zpx 4   AC LDY abs 4   BC LDY abx 4+
86 STX zp 3    96 STX zpy 4   8E STX abs 4
84 STY zp 3    94 STY zpx 4   8C STY abs 4
E0 CPX imm 2   E4 CPX zp 3    EC CPX abs 4
C0 CPY imm 2   C4 CPY zp 3    CC CPY abs 4
24 BIT zp 3    2C BIT abs 4
10 BPL rel 2   30 BMI rel 2   50 BVC rel 2   70 BVS rel 2   90 BCC rel 2   B0 BCS rel 2   D0 BNE rel 2  F0 BEQ rel 2
18 CLC imp 2   38 SEC imp 2   58 CLI imp 2   78 SEI imp 2   B8 CLV imp 2   D8 CLD imp 2   F8 SED imp 2
AA TAX imp 2   A8 TAY imp 2   8A TXA imp 2   98 TYA imp 2   BA TSX imp 2   9A TXS imp 2
E8 INX imp 2   C8 INY imp 2   CA DEX imp 2   88 DEY imp 2
48 PHA imp 3   08 PHP imp 3   68 PLA imp 4   28 PLP imp 4
4C JMP abs 3   6C JMP ind 5   20 JSR abs 6   60 RTS imp 6   40 RTI imp 6   00 BRK imp 7   EA NOP imp 2
A7 LAX zp 3    B7 LAX zpy 4   AF LAX abs 4   BF LAX aby 4+  A3 LAX inx 6   B3 LAX iny 5+
87 SAX zp 3    97 SAX zpy 4   8F SAX abs 4   83 SAX inx 6
07 SLO zp 5    17 SLO zpx 6   0F SLO abs 6   1F SLO abx 7   1B SLO aby 7   03 SLO inx 8   13 SLO iny 8
27 RLA zp 5    37 RLA zpx 6   2F RLA abs 6   3F RLA abx 7   3B RLA aby 7   23 RLA inx 8   33 RLA iny 8
47 SRE zp 5    57 SRE zpx 6   4F SRE abs 6   5F SRE abx 7   5B SRE aby 7   43 SRE inx 8   53 SRE iny 8
67 RRA zp 5    77 RRA zpx 6   6F RRA abs 6   7F RRA abx 7   7B RRA aby 7   63 RRA inx 8   73 RRA iny 8
C7 DCP zp 5    D7 DCP zpx 6   CF DCP abs 6   DF DCP abx 7   DB DCP aby 7   C3 DCP inx 8   D3 DCP iny 8
E7 ISC zp 5    F7 ISC zpx 6   EF ISC abs 6   FF ISC abx 7   FB ISC aby 7   E3 ISC inx 8   F3 ISC iny 8
0B ANC imm 2   2B ANC imm 2   4B ALR imm 2   6B ARR imm 2   CB SBX imm 2   EB SBC imm 2
1A NOP imp 2   3A NOP imp 2   5A NOP imp 2   7A NOP imp 2   DA NOP imp 2   FA NOP imp 2
80 NOP imm 2   82 NOP imm 2   89 NOP imm 2   C2 NOP imm 2   E2 NOP imm 2
04 NOP zp 3    44 NOP zp 3    64 NOP zp 3
14 NOP zpx 4   34 NOP zpx 4   54 NOP zpx 4   74 NOP zpx 4   D4 NOP zpx 4   F4 NOP zpx 4
0C NOP abs 4   1C NOP abx 4+  3C NOP abx 4+  5C NOP abx 4+  7C NOP abx 4+  DC NOP abx 4+  FC NOP abx 4+
"""

# The 151 documented opcodes; the rest of OPCODES are undocumented.
OFFICIAL = frozenset(
    int(code, 16)
    for code in """
69 65 75 6D 7D 79 61 71 29 25 35 2D 3D 39 21 31 09 05 15 0D 1D 19 01 11 49 45 55 4D 5D 59 41 51
C9 C5 D5 CD DD D9 C1 D1 E9 E5 F5 ED FD F9 E1 F1 A9 A5 B5 AD BD B9 A1 B1 85 95 8D 9D 99 81 91
0A 06 16 0E 1E 2A 26 36 2E 3E 4A 46 56 4E 5E 6A 66 76 6E 7E E6 F6 EE FE C6 D6 CE DE
A2 A6 B6 AE BE A0 A4 B4 AC BC 86 96 8E 84 94 8C E0 E4 EC C0 C4 CC 24 2C
10 30 50 70 90 B0 D0 F0 18 38 58 78 B8 D8 F8 AA A8 8A 98 BA 9A E8 C8 CA 88 48 08 68 28
4C 6C 20 60 40 00 EA
""".split()
)

# Micro-op columns of TABLE, one row per opcode.
FIELDS = (
    "length",
    "cycles",
    "page_penalty",
    "ea",
    "pointer",
    "reads",
    "immediate",
    "src",  # value into the RMW unit: 0 operand, 1 A, 2 X, 3 Y, 4 S, 5 P, 6 A&X
    "shift",  # 0 none, 1 left, 2 right
    "rotate",  # shift in the carry
    "delta",  # +1 / -1: increment / decrement
    "alu",  # 0 pass, 1 OR, 2 AND, 3 EOR, 4 adder, 5 BIT, 6 ANC, 7 ALR, 8 ARR, 9 pull P
    "alu_reg",  # the accumulator unit's register: 0 A, 1 X, 2 Y, 3 A&X
    "invert",  # adder subtracts (operand inverted)
    "carry_one",  # adder's carry in is 1 (compares), not C
    "decimal",  # ADC/SBC/RRA/ISC/ARR honour the D flag
    "dst",  # registers written: 1 A, 2 X, 4 Y, 8 S (TXS)
    "fmask",
    "set",
    "clear",
    "writes",  # bytes written: 0-3
    "push",  # first write goes to the stack (0x100 + S) instead of the effective address
    "push_pc",  # the writes push PC+2 (JSR, BRK), then P for BRK
    "s_delta",
    "pc_kind",  # 0 next, 1 absolute operand, 2 pointer word, 3 pointer word + 1, 4 branch
    "branch_bit",
    "branch_want",
    "jam",
)
F = {name: i for i, name in enumerate(FIELDS)}

_SRC = {"M": 0, "A": 1, "X": 2, "Y": 3, "S": 4, "P": 5, "AX": 6}
_REG = {"A": 0, "X": 1, "Y": 2, "AX": 3}
_DST = {"": 0, "A": 1, "X": 2, "Y": 4, "S": 8, "AX": 3}


def _spec(
    src="M",
    shift=0,
    rotate=0,
    delta=0,
    alu=0,
    reg="A",
    invert=0,
    carry_one=0,
    decimal=0,
    dst="",
    fmask=0,
    set=0,
    clear=0,
    writes=0,
    push=0,
    push_pc=0,
    s_delta=0,
    pc_kind=0,
    branch=None,
    reads=1,
):
    return dict(
        src=_SRC[src],
        shift=shift,
        rotate=rotate,
        delta=delta,
        alu=alu,
        alu_reg=_REG[reg],
        invert=invert,
        carry_one=carry_one,
        decimal=decimal,
        dst=_DST[dst],
        fmask=fmask,
        set=set,
        clear=clear,
        writes=writes,
        push=push,
        push_pc=push_pc,
        s_delta=s_delta,
        pc_kind=pc_kind,
        branch_bit=0 if branch is None else branch[0],
        branch_want=0 if branch is None else branch[1],
        reads=reads,
    )


def _rmw(shift=0, rotate=0, delta=0, **kw):
    return _spec(shift=shift, rotate=rotate, delta=delta, writes=1, fmask=NZC if shift else NZ, **kw)


_SPECS = {
    "ADC": _spec(alu=4, decimal=1, dst="A", fmask=NVZC),
    "SBC": _spec(alu=4, invert=1, decimal=1, dst="A", fmask=NVZC),
    "CMP": _spec(alu=4, invert=1, carry_one=1, fmask=NZC),
    "CPX": _spec(alu=4, reg="X", invert=1, carry_one=1, fmask=NZC),
    "CPY": _spec(alu=4, reg="Y", invert=1, carry_one=1, fmask=NZC),
    "ORA": _spec(alu=1, dst="A", fmask=NZ),
    "AND": _spec(alu=2, dst="A", fmask=NZ),
    "EOR": _spec(alu=3, dst="A", fmask=NZ),
    "BIT": _spec(alu=5, fmask=NVZ),
    "ASL": _rmw(shift=1),
    "ROL": _rmw(shift=1, rotate=1),
    "LSR": _rmw(shift=2),
    "ROR": _rmw(shift=2, rotate=1),
    "INC": _rmw(delta=1),
    "DEC": _rmw(delta=-1),
    "LDA": _spec(dst="A", fmask=NZ),
    "LDX": _spec(dst="X", fmask=NZ),
    "LDY": _spec(dst="Y", fmask=NZ),
    "LAX": _spec(dst="AX", fmask=NZ),
    "STA": _spec(src="A", writes=1, reads=0),
    "STX": _spec(src="X", writes=1, reads=0),
    "STY": _spec(src="Y", writes=1, reads=0),
    "SAX": _spec(src="AX", writes=1, reads=0),
    "TAX": _spec(src="A", dst="X", fmask=NZ, reads=0),
    "TAY": _spec(src="A", dst="Y", fmask=NZ, reads=0),
    "TXA": _spec(src="X", dst="A", fmask=NZ, reads=0),
    "TYA": _spec(src="Y", dst="A", fmask=NZ, reads=0),
    "TSX": _spec(src="S", dst="X", fmask=NZ, reads=0),
    "TXS": _spec(src="X", dst="S", reads=0),
    "INX": _spec(src="X", delta=1, dst="X", fmask=NZ, reads=0),
    "INY": _spec(src="Y", delta=1, dst="Y", fmask=NZ, reads=0),
    "DEX": _spec(src="X", delta=-1, dst="X", fmask=NZ, reads=0),
    "DEY": _spec(src="Y", delta=-1, dst="Y", fmask=NZ, reads=0),
    "PHA": _spec(src="A", writes=1, push=1, s_delta=-1, reads=0),
    "PHP": _spec(src="P", writes=1, push=1, s_delta=-1, reads=0),
    "PLA": _spec(dst="A", fmask=NZ, s_delta=1),
    "PLP": _spec(alu=9, fmask=0xFF, s_delta=1),
    "JMP": _spec(pc_kind=1, reads=0),
    "JSR": _spec(writes=2, push=1, push_pc=1, s_delta=-2, pc_kind=1, reads=0),
    "RTS": _spec(s_delta=2, pc_kind=3, reads=0),
    "RTI": _spec(alu=9, fmask=0xFF, s_delta=3, pc_kind=2),
    "BRK": _spec(writes=3, push=1, push_pc=1, s_delta=-3, pc_kind=2, set=I_FLAG | B_FLAG, reads=0),
    "NOP": _spec(),
    "CLC": _spec(clear=C_FLAG, reads=0),
    "SEC": _spec(set=C_FLAG, reads=0),
    "CLI": _spec(clear=I_FLAG, reads=0),
    "SEI": _spec(set=I_FLAG, reads=0),
    "CLV": _spec(clear=V_FLAG, reads=0),
    "CLD": _spec(clear=D_FLAG, reads=0),
    "SED": _spec(set=D_FLAG, reads=0),
    "BPL": _spec(pc_kind=4, branch=(7, 0), reads=0),
    "BMI": _spec(pc_kind=4, branch=(7, 1), reads=0),
    "BVC": _spec(pc_kind=4, branch=(6, 0), reads=0),
    "BVS": _spec(pc_kind=4, branch=(6, 1), reads=0),
    "BCC": _spec(pc_kind=4, branch=(0, 0), reads=0),
    "BCS": _spec(pc_kind=4, branch=(0, 1), reads=0),
    "BNE": _spec(pc_kind=4, branch=(1, 0), reads=0),
    "BEQ": _spec(pc_kind=4, branch=(1, 1), reads=0),
    "SLO": _rmw(shift=1, alu=1, dst="A"),
    "RLA": _rmw(shift=1, rotate=1, alu=2, dst="A"),
    "SRE": _rmw(shift=2, alu=3, dst="A"),
    "RRA": _spec(shift=2, rotate=1, alu=4, decimal=1, dst="A", fmask=NVZC, writes=1),
    "DCP": _spec(delta=-1, alu=4, invert=1, carry_one=1, fmask=NZC, writes=1),
    "ISC": _spec(delta=1, alu=4, invert=1, decimal=1, dst="A", fmask=NVZC, writes=1),
    "ANC": _spec(alu=6, dst="A", fmask=NZC),
    "ALR": _spec(alu=7, dst="A", fmask=NZC),
    "ARR": _spec(alu=8, decimal=1, dst="A", fmask=NVZC),
    "SBX": _spec(alu=4, reg="AX", invert=1, carry_one=1, dst="X", fmask=NZC),
}


def _parse_opcodes() -> dict[int, tuple[str, str, int, bool]]:
    words = OPCODES.split()
    out = {}
    for i in range(0, len(words), 4):
        code, name, mode, cycles = words[i : i + 4]
        out[int(code, 16)] = (name, mode, int(cycles.rstrip("+")), cycles.endswith("+"))
    return out


INSTRUCTIONS = _parse_opcodes()


def _build_table() -> np.ndarray:
    table = np.zeros((256, len(FIELDS)), np.int32)
    for code in range(256):
        row = table[code]
        if code not in INSTRUCTIONS:
            row[F["length"]], row[F["cycles"]], row[F["jam"]] = 1, JAM_CYCLES, 1
            continue
        name, mode, cycles, penalty = INSTRUCTIONS[code]
        length, ea, pointer = MODES[mode]
        spec = dict(_SPECS[name])
        if mode == "acc":
            spec["src"], spec["dst"], spec["writes"], spec["reads"] = _SRC["A"], _DST["A"], 0, 0
        if mode in ("acc", "imm", "rel", "ind") or (mode == "imp" and name not in ("PLA", "PLP", "RTI")):
            spec["reads"] = 0
        if name in ("PLA", "PLP", "RTI"):
            ea = 9
        pointer = {"RTS": 4, "RTI": 5, "BRK": 6}.get(name, pointer)
        if mode == "ind":
            spec["pc_kind"] = 2
        spec.update(
            length=length,
            cycles=cycles,
            page_penalty=int(penalty),
            ea=ea,
            pointer=pointer,
            immediate=int(mode == "imm"),
            jam=0,
        )
        for field, value in spec.items():
            row[F[field]] = value
    table.setflags(write=False)
    return table


TABLE = _build_table()


class CPU(struct.PyTree):
    """Registers of one 6507 (add a leading batch axis to every field for many consoles).

    `P` always has bits 4 and 5 set; `cycles` counts CPU cycles since reset (uint32 wraps after
    about an hour of emulated time); `jammed` is set by a JAM or unsupported opcode.
    """

    A: jax.Array
    X: jax.Array
    Y: jax.Array
    S: jax.Array
    P: jax.Array
    PC: jax.Array
    cycles: jax.Array
    jammed: jax.Array

    @classmethod
    def make(cls, A=0, X=0, Y=0, S=0xFD, P=U_FLAG | B_FLAG | I_FLAG, PC=0, cycles=0, jammed=False) -> CPU:
        """A CPU with the given register values (array-likes broadcast to a common batch shape)."""
        values = dict(A=A, X=X, Y=Y, S=S, P=P, PC=PC, cycles=cycles, jammed=jammed)
        shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in values.values()))
        dtypes = dict(
            A=jnp.uint8,
            X=jnp.uint8,
            Y=jnp.uint8,
            S=jnp.uint8,
            P=jnp.uint8,
            PC=jnp.uint16,
            cycles=jnp.uint32,
            jammed=jnp.bool_,
        )
        fields = {k: jnp.broadcast_to(jnp.asarray(v).astype(dtypes[k]), shape) for k, v in values.items()}
        fields["P"] = fields["P"] | jnp.uint8(U_FLAG | B_FLAG)
        return cls(**fields)


class Accesses(struct.PyTree):
    """One instruction's bus traffic: six reads (opcode, two operand bytes, two pointer bytes, the
    operand) with flags for the ones the 6502 performs, three writes in order, and its cycle count."""

    read_addr: jax.Array
    read_active: jax.Array
    write_addr: jax.Array
    write_value: jax.Array
    write_active: jax.Array
    cycles: jax.Array


class Reader(Protocol):
    """The side of the machine that decoding reads: `mem` is any pytree (RAM, device registers, bank
    state); `peek` reads without side effects."""

    def peek(self, mem: Any, addr: jax.Array) -> jax.Array: ...


class Bus(Reader, Protocol):
    """What the CPU sees of the machine: `peek` (see `Reader`), and `commit`, which receives the
    instruction's whole bus traffic at once, after the CPU has decided it: `read_addr`/`read_active`
    every byte fetched or read (active marks the reads the 6502 really performs),
    `write_addr`/`write_value`/`write_active` the at most three bytes written, in order, and the
    cycle count before the instruction and its length in cycles. Addresses are 16-bit ints; the bus
    masks them to its address lines.
    """

    def commit(
        self,
        mem: Any,
        read_addr: jax.Array,
        read_active: jax.Array,
        write_addr: jax.Array,
        write_value: jax.Array,
        write_active: jax.Array,
        start_cycle: jax.Array,
        cycles: jax.Array,
    ) -> Any: ...


class FlatBus(struct.PyTree):
    """A flat `uint8[2**k]` memory with k address lines (13 on the 6507, 16 for a full 6502)."""

    mask: int = struct.static_field(default=0x1FFF)

    @classmethod
    def for_memory(cls, mem: jax.Array) -> FlatBus:
        size = mem.shape[-1]
        if mem.dtype != jnp.uint8 or size & (size - 1) or not 256 <= size <= 65536:
            raise ValueError(
                f"flat memory must be uint8 with a power-of-two size in [256, 65536]; got {mem.dtype}[{size}]"
            )
        return cls(mask=size - 1)

    def peek(self, mem: jax.Array, addr: jax.Array) -> jax.Array:
        return mem[addr & self.mask].astype(jnp.int32)

    def commit(self, mem, read_addr, read_active, write_addr, write_value, write_active, start_cycle, cycles):
        target = jnp.where(write_active, write_addr & self.mask, mem.shape[-1])
        return mem.at[target].set(write_value.astype(jnp.uint8), mode="drop")


def decode(opcode: jax.Array) -> dict[str, jax.Array]:
    """The micro-op row of `opcode` as named int32 scalars (one gather from `TABLE`)."""
    row = jnp.asarray(TABLE)[opcode]
    return {name: row[i] for i, name in enumerate(FIELDS)}


def _sel(index, *values):
    """values[index] for a small int `index` (a chain of selects; folds when `index` is constant)."""
    if isinstance(index, (int, np.integer)):
        return values[int(index)]
    out = values[-1]
    for k in range(len(values) - 2, -1, -1):
        out = jnp.where(index == k, values[k], out)
    return out


def _stella_decimal(a: jax.Array, operand: jax.Array, carry: jax.Array, subtract: jax.Array) -> tuple:
    """Decimal ADC/SBC as ALE's Stella computes them (result, C, V), which the NMOS part does not:
    each byte read as two decimal digits (a nibble of 10-15 counts as such: $9A is 100), the sum
    or difference taken in decimal and written back as BCD, N and Z from that result, C from the
    decimal sum (ADC) or the binary comparison (SBC), V set when the result's sign differs from
    both A's and the operand's. A negative difference still below zero after adding 100 indexes
    Stella's table before its start, which reads its other half (the digits of difference + 256)."""
    digits = lambda byte: (byte >> 4) * 10 + (byte & 0xF)
    to_bcd = lambda n: (((n % 100) // 10) << 4) | (n % 10)
    total = digits(a) + digits(operand) + carry
    difference = digits(a) - digits(operand) - (1 - carry)
    difference = jnp.where(difference < 0, difference + 100, difference)
    below = jnp.where(difference < 0, digits(difference + 256) & 0xFF, to_bcd(difference))
    result = jnp.where(subtract, below, to_bcd(total & 0xFF))
    c = jnp.where(subtract, a >= operand + 1 - carry, total > 99).astype(jnp.int32)
    v = ((((a ^ result) & (result ^ operand)) >> 7) & 1).astype(jnp.int32)
    return result, c, v


def execute(
    cpu: CPU,
    mem: Any,
    bus: Reader,
    op1: jax.Array,
    op2: jax.Array,
    row: dict[str, Any],
    stella_decimal: bool = False,
) -> tuple[CPU, Accesses]:
    """One fetched instruction, driven by `row` (traced from `decode`, or constants): the new
    registers and the bus traffic, for `commit` (memory is only read here). `stella_decimal`:
    decimal ADC/SBC as ALE's Stella computes them (`_stella_decimal`), not as the NMOS part."""
    a, x, y, s, p = (r.astype(jnp.int32) for r in (cpu.A, cpu.X, cpu.Y, cpu.S, cpu.P))
    pc = cpu.PC.astype(jnp.int32)
    carry = p & 1
    absolute = op1 | (op2 << 8)

    # Pointer (stage 2): low byte at `ptr`, high byte from the same page.
    ptr = _sel(
        row["pointer"],
        0,
        (op1 + x) & 0xFF,
        op1,
        absolute,
        0x100 | ((s + 1) & 0xFF),
        0x100 | ((s + 2) & 0xFF),
        IRQ_VECTOR,
    )
    ptr_hi = (ptr & 0xFF00) | ((ptr + 1) & 0xFF)
    ptr_bytes = bus.peek(mem, jnp.stack([ptr, ptr_hi]))
    word = ptr_bytes[0] | (ptr_bytes[1] << 8)

    # Effective address and the operand (stage 3).
    base = _sel(row["ea"], 0, op1, op1, op1, absolute, absolute, absolute, word, word, 0x100 | ((s + 1) & 0xFF))
    index = _sel(row["ea"], 0, 0, x, y, 0, x, y, 0, y, 0)
    wrap = _sel(row["ea"], 0xFFFF, 0xFF, 0xFF, 0xFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF)
    ea = (base + index) & wrap
    crossed = ((base ^ ea) >> 8) & 1
    operand = jnp.where(row["immediate"] == 1, op1, bus.peek(mem, ea))

    # Read-modify-write unit.
    v = _sel(row["src"], operand, a, x, y, s, p, a & x)
    shift_in = carry * row["rotate"]
    left = ((v << 1) | shift_in) & 0xFF
    right = (v >> 1) | (shift_in << 7)
    r1 = _sel(row["shift"], (v + row["delta"]) & 0xFF, left, right)
    c1 = _sel(row["shift"], carry, v >> 7, v & 1)

    # Accumulator unit.
    reg = _sel(row["alu_reg"], a, x, y, a & x)
    decimal_mode = ((p >> 3) & 1) * row["decimal"]
    b = r1 ^ (0xFF * row["invert"])
    cin = jnp.where(row["carry_one"] == 1, 1, c1)
    total = reg + b + cin
    add_v = ((reg ^ total) & (b ^ total)) >> 7 & 1
    # NMOS decimal ADC: low nibble adjusted first; N and V from that intermediate sum.
    lo = (reg & 0xF) + (r1 & 0xF) + cin
    lo = jnp.where(lo >= 0xA, ((lo + 6) & 0xF) + 0x10, lo)
    dsum_mid = (reg & 0xF0) + (r1 & 0xF0) + lo
    dadd_v = ((~(reg ^ r1) & (reg ^ dsum_mid)) >> 7) & 1
    dsum = jnp.where(dsum_mid >= 0xA0, dsum_mid + 0x60, dsum_mid)
    # NMOS decimal SBC: flags stay binary, only the result is adjusted.
    lo_s = (reg & 0xF) - (r1 & 0xF) + cin - 1
    lo_s = jnp.where(lo_s < 0, ((lo_s - 6) & 0xF) - 0x10, lo_s)
    ddiff = (reg & 0xF0) - (r1 & 0xF0) + lo_s
    ddiff = jnp.where(ddiff < 0, ddiff - 0x60, ddiff)
    dec_add = decimal_mode * (1 - row["invert"])
    dec_sub = decimal_mode * row["invert"]
    add_r = _sel(dec_add + 2 * dec_sub, total, dsum, ddiff) & 0xFF
    add_c = jnp.where(dec_add == 1, dsum >= 0x100, total >= 0x100).astype(jnp.int32)
    # N, Z and V of the adder (NMOS: decimal ADC's N and V from its intermediate sum, its Z binary;
    # decimal SBC's flags binary).
    add_nz = jnp.where(dec_add == 1, dsum_mid, total) & 0xFF
    add_z = (total & 0xFF) == 0
    add_v = jnp.where(dec_add == 1, dadd_v, add_v)
    if stella_decimal:
        stella_r, stella_c, stella_v = _stella_decimal(reg, r1, cin, dec_sub == 1)
        add_r = jnp.where(decimal_mode == 1, stella_r, add_r)
        add_c = jnp.where(decimal_mode == 1, stella_c, add_c)
        add_nz = jnp.where(decimal_mode == 1, stella_r, add_nz)
        add_z = jnp.where(decimal_mode == 1, stella_r == 0, add_z)
        add_v = jnp.where(decimal_mode == 1, stella_v, add_v)
    # ARR: AND, then ROR A; decimal mode fixes the nibbles up afterwards.
    t = a & r1
    arr0 = (t >> 1) | (carry << 7)
    arr_lo = jnp.where((t & 0xF) + (t & 1) > 5, (arr0 & 0xF0) | ((arr0 + 6) & 0xF), arr0)
    arr_hi_fix = (t >> 4) + ((t >> 4) & 1) > 5
    arr_r = jnp.where(decimal_mode == 1, jnp.where(arr_hi_fix, arr_lo + 0x60, arr_lo) & 0xFF, arr0)
    arr_c = jnp.where(decimal_mode == 1, arr_hi_fix.astype(jnp.int32), (arr0 >> 6) & 1)

    alu = row["alu"]
    result = _sel(alu, r1, reg | r1, reg & r1, reg ^ r1, add_r, 0, t, t >> 1, arr_r, r1)
    # N and Z come from this value, except where noted (the adder's from `add_nz` and `add_z`).
    nz_value = _sel(alu, result, result, result, result, add_nz, r1, result, result, arr0, result)
    zero = jnp.where(alu == 5, (a & r1) == 0, jnp.where(alu == 4, add_z, nz_value == 0))
    negative = (nz_value >> 7) & 1
    overflow = _sel(alu, 0, 0, 0, 0, add_v, (r1 >> 6) & 1, 0, 0, ((t >> 7) ^ (t >> 6)) & 1, 0)
    c_out = _sel(alu, c1, c1, c1, c1, add_c, 0, (t >> 7) & 1, t & 1, arr_c, 0)
    flags = (negative << 7) | (overflow << 6) | (zero.astype(jnp.int32) << 1) | c_out
    flags = jnp.where(alu == 9, r1 | U_FLAG | B_FLAG, flags)
    new_p = ((p & ~row["fmask"]) | (flags & row["fmask"]) | row["set"]) & ~row["clear"]

    dst = row["dst"]
    new_a = jnp.where(dst & 1 != 0, result, a)
    new_x = jnp.where(dst & 2 != 0, result, x)
    new_y = jnp.where(dst & 4 != 0, result, y)
    new_s = jnp.where(dst & 8 != 0, result, (s + row["s_delta"]) & 0xFF)

    # Program counter and cycles.
    next_pc = (pc + row["length"]) & 0xFFFF
    taken = (((p >> row["branch_bit"]) & 1) == row["branch_want"]) & (row["pc_kind"] == 4)
    target = (next_pc + op1 - ((op1 & 0x80) << 1)) & 0xFFFF
    new_pc = _sel(row["pc_kind"], next_pc, absolute, word, (word + 1) & 0xFFFF, jnp.where(taken, target, next_pc))
    branch_cycles = taken.astype(jnp.int32) * (1 + (((next_pc ^ target) >> 8) & 1))
    cycles = row["cycles"] + row["page_penalty"] * crossed + branch_cycles

    # One scatter of up to three bytes: the result, or the stack pushes.
    return_pc = (pc + 2) & 0xFFFF
    stack = 0x100 | s
    write_addr = jnp.stack(
        [
            jnp.where(row["push"] == 1, stack, ea),
            0x100 | ((s - 1) & 0xFF),
            0x100 | ((s - 2) & 0xFF),
        ]
    )
    write_value = jnp.stack([jnp.where(row["push_pc"] == 1, return_pc >> 8, r1), return_pc & 0xFF, p | B_FLAG | U_FLAG])
    write_active = jnp.arange(3) < row["writes"]

    jam = row["jam"] == 1
    read_addr = jnp.stack([pc, (pc + 1) & 0xFFFF, (pc + 2) & 0xFFFF, ptr, ptr_hi, ea])
    read_active = jnp.stack(
        [
            jnp.asarray(True),
            jnp.asarray(True),
            row["length"] == 3,
            row["pointer"] != 0,
            row["pointer"] != 0,
            row["reads"] == 1,
        ]
    )
    accesses = Accesses(read_addr, read_active & ~jam, write_addr, write_value, write_active & ~jam, cycles)

    def keep(new, old):
        return jnp.where(jam, old, new.astype(old.dtype))

    out = CPU(
        A=keep(new_a, cpu.A),
        X=keep(new_x, cpu.X),
        Y=keep(new_y, cpu.Y),
        S=keep(new_s, cpu.S),
        P=keep(new_p, cpu.P),
        PC=keep(new_pc, cpu.PC),
        cycles=cpu.cycles + cycles.astype(jnp.uint32),
        jammed=cpu.jammed | jam,
    )
    return out, accesses


def fetch(cpu: CPU, mem: Any, bus: Reader) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The opcode and the two bytes after it (stage 1: one gather)."""
    pc = cpu.PC.astype(jnp.int32)
    fetched = bus.peek(mem, (pc + jnp.arange(3)) & 0xFFFF)
    return fetched[0], fetched[1], fetched[2]


def step_instruction(cpu: CPU, mem: Any, bus: Bus | None = None, stella_decimal: bool = False) -> tuple[CPU, Any]:
    """Execute one instruction of one console; a jammed CPU only advances its clock.

    `mem` is a flat `uint8[2**k]` array unless `bus` says otherwise. jit/vmap-able.
    """
    bus = FlatBus.for_memory(mem) if bus is None else bus
    opcode, op1, op2 = fetch(cpu, mem, bus)
    row = decode(jnp.where(cpu.jammed, 0x02, opcode))
    out, accesses = execute(cpu, mem, bus, op1, op2, row, stella_decimal)
    return out, commit(bus, mem, cpu, accesses)


def commit(bus: Bus, mem: Any, cpu: CPU, accesses: Accesses) -> Any:
    """Hand an instruction's bus traffic to the bus; `cpu` is the state before the instruction."""
    return bus.commit(
        mem,
        accesses.read_addr,
        accesses.read_active,
        accesses.write_addr,
        accesses.write_value,
        accesses.write_active,
        cpu.cycles,
        accesses.cycles,
    )


def run_instructions(cpu: CPU, mem: Any, n: int, bus: Bus | None = None) -> tuple[CPU, Any]:
    """`n` instructions (a `lax.fori_loop`)."""
    bus = FlatBus.for_memory(mem) if bus is None else bus
    return jax.lax.fori_loop(0, n, lambda _, c: step_instruction(c[0], c[1], bus), (cpu, mem))


def run_cycles(cpu: CPU, mem: Any, until: jax.Array, bus: Bus | None = None) -> tuple[CPU, Any]:
    """Instructions until the cycle counter reaches `until` (it may overshoot by the last instruction)."""
    bus = FlatBus.for_memory(mem) if bus is None else bus
    until = jnp.asarray(until, jnp.uint32)
    return jax.lax.while_loop(lambda c: c[0].cycles < until, lambda c: step_instruction(*c, bus), (cpu, mem))


def reset(mem: Any, bus: Bus | None = None) -> CPU:
    """A CPU after the reset sequence: PC from the vector at $FFFC, I set, S = $FD, 7 cycles spent."""
    bus = FlatBus.for_memory(mem) if bus is None else bus
    vector = bus.peek(mem, jnp.asarray([RESET_VECTOR, RESET_VECTOR + 1]))
    return CPU.make(PC=vector[0] | (vector[1] << 8), cycles=7)
