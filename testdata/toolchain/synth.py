#!/usr/bin/env python3
"""Writes the synthetic ELF fixtures of testdata/toolchain/ (see README.md).

Each is a minimal little-endian ELF64 executable: the ELF header, one PT_LOAD
(R+W) that maps the whole file at 0x400000 (so file offsets and addresses
differ by a multiple of 64 KiB), and section headers naming the sections the
toolchain facts are read from. No code: these files are never run. What they
carry is in the real formats:

  go1.13-arm64        .go.buildinfo in the pointer-based encoding Go used
                      before 1.18 (header with two pointers to Go string
                      headers), module info framed by cmd/go's sentinels
  go1.18.3-arm64      .go.buildinfo in the inline encoding of Go 1.18+
                      (flag bit 1, uvarint-prefixed strings), with build lines
  rust1.55-commit-arm64  no .comment; .rodata holds a std panic path
                      /rustc/<1.55.0's commit>/library/std/src/time.rs
  rust-auditable-jemalloc-arm64  .comment "rustc version 1.75.0 (...)" and a
                      cargo-auditable .dep-v0 (zlib JSON) listing tikv-jemalloc-sys

Usage: synth.py OUTDIR
"""
import struct
import sys
import zlib

EM_AARCH64 = 183
BASE = 0x400000

# cmd/go/internal/modload: the sentinels around the module info.
INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")
MAGIC = b"\xff Go buildinf:"


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def align(n, a):
    return (n + a - 1) // a * a


def elf(sections, machine=EM_AARCH64):
    """sections: list of (name, sh_type, sh_flags, data, build) where build,
    if set, is called with the section's address and returns its data."""
    ehsize, phentsize, shentsize = 64, 56, 64
    off = ehsize + phentsize
    layout = []
    for name, sh_type, flags, data, build in sections:
        off = align(off, 16)
        if build is not None:
            data = build(BASE + off)
        layout.append((name, sh_type, flags, off, data))
        off += len(data)
    names = b"\0" + b"".join(n.encode() + b"\0" for n, *_ in layout) + b".shstrtab\0"
    shstr_off = off
    off += len(names)
    shoff = align(off, 8)
    body = bytearray(shoff)
    for name, _, _, o, data in layout:
        body[o:o + len(data)] = data
    body[shstr_off:shstr_off + len(names)] = names
    file_size = shoff + shentsize * (len(layout) + 2)
    shnum = len(layout) + 2
    hdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    hdr += struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, BASE, ehsize, shoff, 0,
                       ehsize, phentsize, 1, shentsize, shnum, shnum - 1)
    ph = struct.pack("<IIQQQQQQ", 1, 6, 0, BASE, BASE, file_size, file_size, 0x10000)
    body[0:len(hdr)] = hdr
    body[ehsize:ehsize + phentsize] = ph
    sh = bytearray(shentsize)  # the null section
    name_at = 1
    for name, sh_type, flags, o, data in layout:
        sh += struct.pack("<IIQQQQIIQQ", name_at, sh_type, flags, BASE + o if flags & 2 else 0,
                          o, len(data), 0, 0, 16 if flags & 2 else 1, 0)
        name_at += len(name) + 1
    sh += struct.pack("<IIQQQQIIQQ", name_at, 3, 0, 0, shstr_off, len(names), 0, 0, 1, 0)
    return bytes(body) + bytes(sh)


SHT_PROGBITS = 1
A, W = 2, 1


def go_pointer_based(version, modinfo):
    def build(addr):
        # header (32) | version string header (16) | modinfo string header (16) | strings
        v_hdr = addr + 32
        m_hdr = addr + 48
        v_data = addr + 64
        m_data = v_data + len(version)
        blob = MAGIC + bytes([8, 0])
        blob += struct.pack("<QQ", v_hdr, m_hdr)
        blob += struct.pack("<QQ", v_data, len(version))
        blob += struct.pack("<QQ", m_data, len(modinfo))
        return blob + version + modinfo
    return build


def go_inline(version, modinfo):
    blob = MAGIC + bytes([8, 2]) + bytes(16)
    return blob + uvarint(len(version)) + version + uvarint(len(modinfo)) + modinfo


def main(out):
    mod113 = INFO_START + b"path\texample.com/app\nmod\texample.com/app\t(devel)\t\n" + INFO_END
    files = {
        "go1.13-arm64": elf([(".go.buildinfo", SHT_PROGBITS, A | W, b"",
                              go_pointer_based(b"go1.13", mod113))]),
    }
    mod118 = INFO_START + (
        b"path\texample.com/app\n"
        b"mod\texample.com/app\t(devel)\t\n"
        b"build\t-compiler=gc\n"
        b"build\tCGO_ENABLED=0\n"
        b"build\tGOARCH=arm64\n"
        b"build\tGOOS=linux\n"
    ) + INFO_END
    files["go1.18.3-arm64"] = elf([(".go.buildinfo", SHT_PROGBITS, A | W,
                                     go_inline(b"go1.18.3", mod118), None)])
    commit = b"c8dfcfe046a7680554bf4eb612bad840e7631c4b"  # rustc 1.55.0, `rustc -vV` commit-hash
    files["rust1.55-commit-arm64"] = elf([(".rodata", SHT_PROGBITS, A,
                                            b"called `Option::unwrap()`\0/rustc/" + commit
                                            + b"/library/std/src/time.rs\0", None)])
    deps = (b'{"packages":[{"name":"app","version":"0.1.0","source":"local",'
            b'"dependencies":[1],"root":true},{"name":"tikv-jemalloc-sys",'
            b'"version":"0.5.4+5.3.0-patched","source":"crates.io"}]}')
    files["rust-auditable-jemalloc-arm64"] = elf([
        (".rodata", SHT_PROGBITS, A, b"hello\0", None),
        (".dep-v0", SHT_PROGBITS, 0, zlib.compress(deps, 9), None),
        (".comment", SHT_PROGBITS, 0x30, b"rustc version 1.75.0 (82e1608df 2023-12-21)\0", None),
    ])
    for name, data in files.items():
        with open(f"{out}/{name}", "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
