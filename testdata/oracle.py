#!/usr/bin/env python3
"""The real dynamic loader as the oracle for elfgate's verdicts.

Usage:
  oracle.py [options] ROOT ARCH
  oracle.py [options] --image TRANSPORT:REF --platform OS/ARCH[/VARIANT]

ROOT is an unpacked root filesystem; ARCH is amd64, arm64 or armhf. With
--image the image is first reduced to the one platform with
`skopeo copy --override-arch` and unpacked with `umoci raw unpack`; its
config's LD_LIBRARY_PATH (if any) is passed to the loader.

For every regular ELF file of type EXEC or DYN in ROOT (relocatable objects
and core files are counted, not judged), and every executable `#!` script,
one JSON line goes to stdout, sorted by path:

  {"path": "/usr/bin/x", "kind": "elf"|"script", "verdict": V, "detail": "..."}

V is one of
  loads                the loader maps it and all it needs (for musl also: relocates it)
  static               no PT_INTERP and no dynamic section (or static-pie)
  missing-interpreter  PT_INTERP (or the script's #! interpreter) does not exist in ROOT
  missing-library      the loader reports a needed library it cannot find
  missing-version      glibc reports "version `X' not found"
  missing-symbol       musl reports "Error relocating ...: symbol not found"
  exec-format          the file's (or its interpreter's) class/machine is not ARCH's
  error                the loader failed with output this script does not recognise

How the loader runs, inside ROOT so that every path it opens is ROOT's:
  amd64:        chroot ROOT INTERP --list PATH
  arm64, armhf: chroot ROOT /.elfgate-oracle/qemu-*-static INTERP --list PATH, with Debian's
                qemu-user-static binary copied into ROOT for the run and removed after
                (--qemu-dir DIR says where qemu-aarch64-static / qemu-arm-static are).
                Without them it falls back to `qemu-aarch64 -L ROOT`, which also finds
                files on the host when ROOT lacks them; a warning says so.
INTERP is the file's own PT_INTERP; a shared object without one is listed with the
root's glibc loader, or its musl loader if the object needs musl's libc or there is
no glibc loader. glibc's and musl's loaders both take `--list` (ldd mode). Whether
PT_INTERP exists and which machine a file is for are read from the ELF headers
here, the way the kernel's execve reads them; nothing in ROOT is ever executed
except the loaders in list mode.

Options: --summary FILE writes {"elf_files", "scripts", "not_judged", "verdicts"}
as JSON; --jobs N runs N loaders at once (default: CPU count).
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile

ARCHES = {
    # arch: (ELF class, e_machine, glibc loader, musl loader, qemu name)
    "amd64": (2, 62, "/lib64/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1", None),
    "arm64": (2, 183, "/lib/ld-linux-aarch64.so.1", "/lib/ld-musl-aarch64.so.1", "aarch64"),
    "armhf": (1, 40, "/lib/ld-linux-armhf.so.3", "/lib/ld-musl-armhf.so.1", "arm"),
}
MACHINE_NAMES = {3: "i386", 8: "mips", 20: "ppc", 21: "ppc64", 22: "s390", 40: "arm", 62: "x86-64",
                 183: "aarch64", 243: "riscv"}
PT_DYNAMIC, PT_INTERP = 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB, DT_FLAGS_1 = 0, 1, 5, 0x6FFFFFFB
DF_1_PIE = 0x08000000
ET_EXEC, ET_DYN = 2, 3
ORACLE_DIR = "/.elfgate-oracle"
MAX_LINKS = 40


class ElfInfo:
    def __init__(self):
        self.elf_class = 0
        self.machine = 0
        self.e_type = 0
        self.interp = None
        self.dynamic = False
        self.needed = []
        self.pie = False


def parse_elf(path):
    """Read the few header facts the verdict needs; None if not an ELF file."""
    with open(path, "rb") as f:
        ident = f.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF":
            return None
        info = ElfInfo()
        info.elf_class = ident[4]
        endian = "<" if ident[5] == 1 else ">"
        is64 = info.elf_class == 2
        rest = f.read(48 if is64 else 36)
        if len(rest) < (48 if is64 else 36):
            return info
        if is64:
            e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize, e_phnum = struct.unpack(endian + "HHIQQQIHHH", rest[:42])
        else:
            e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize, e_phnum = struct.unpack(endian + "HHIIIIIHHH", rest[:30])
        info.e_type, info.machine = e_type, e_machine
        size = os.fstat(f.fileno()).st_size
        phdrs = []
        if e_phnum and e_phentsize >= (56 if is64 else 32) and e_phoff + e_phnum * e_phentsize <= size:
            f.seek(e_phoff)
            table = f.read(e_phnum * e_phentsize)
            for i in range(e_phnum):
                raw = table[i * e_phentsize:(i + 1) * e_phentsize]
                if is64:
                    p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack(endian + "IIQQQQ", raw[:40])
                else:
                    p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack(endian + "IIIII", raw[:20])
                phdrs.append((p_type, p_offset, p_vaddr, p_filesz))
        loads = []
        for p_type, off, vaddr, filesz in phdrs:
            if p_type == 1:
                loads.append((vaddr, off, filesz))
            if p_type == PT_INTERP and off + filesz <= size and filesz < 4096:
                f.seek(off)
                info.interp = f.read(filesz).split(b"\0", 1)[0].decode("utf-8", "replace")
        for p_type, off, _, filesz in phdrs:
            if p_type != PT_DYNAMIC or off + filesz > size or filesz > (1 << 20):
                continue
            info.dynamic = True
            f.seek(off)
            data = f.read(filesz)
            fmt, step = (endian + "qQ", 16) if is64 else (endian + "iI", 8)
            needed_offs, strtab = [], None
            for i in range(0, len(data) - step + 1, step):
                tag, val = struct.unpack(fmt, data[i:i + step])
                if tag == DT_NULL:
                    break
                if tag == DT_NEEDED:
                    needed_offs.append(val)
                elif tag == DT_STRTAB:
                    strtab = val
                elif tag == DT_FLAGS_1 and val & DF_1_PIE:
                    info.pie = True
            if strtab is not None:
                # DT_STRTAB is an address: map it to a file offset through the LOAD segments.
                for vaddr, loff, lsz in loads:
                    if vaddr <= strtab < vaddr + lsz:
                        base = strtab - vaddr + loff
                        for n in needed_offs:
                            f.seek(base + n)
                            info.needed.append(f.read(256).split(b"\0", 1)[0].decode("utf-8", "replace"))
                        break
            else:
                info.needed = ["?"] * len(needed_offs)
        return info


def resolve(root, path):
    """Resolve an absolute in-root path the way the kernel would inside chroot(root).
    Returns the host path of the final file, or None if any component is missing."""
    parts = [p for p in path.split("/") if p]
    done = []
    links = 0
    while parts:
        name = parts.pop(0)
        if name == ".":
            continue
        if name == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *done, name)
        try:
            st = os.lstat(host)
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_LINKS:
                return None
            target = os.readlink(host)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        if parts and not stat.S_ISDIR(st.st_mode):
            return None
        done.append(name)
    return os.path.join(root, *done)


class Runner:
    """Runs a loader in list mode inside the root."""

    def __init__(self, root, arch, qemu_dir, ld_library_path):
        self.root = root
        self.arch = arch
        self.qemu = ARCHES[arch][4]
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
        if ld_library_path:
            self.env["LD_LIBRARY_PATH"] = ld_library_path
        self.mode = "native"
        self.installed = None
        if self.qemu:
            static = os.path.join(qemu_dir, f"qemu-{self.qemu}-static") if qemu_dir else None
            if static and os.path.isfile(static):
                self.mode = "chroot-qemu"
                self.installed = os.path.join(root, ORACLE_DIR.lstrip("/"))
                os.makedirs(self.installed, exist_ok=True)
                shutil.copy2(static, os.path.join(self.installed, "qemu"))
            else:
                self.mode = "qemu-L"
                print(f"oracle: no qemu-{self.qemu}-static in {qemu_dir!r}; using qemu-{self.qemu} -L, "
                      "which falls back to host files missing from the root", file=sys.stderr)

    def close(self):
        if self.installed:
            shutil.rmtree(self.installed, ignore_errors=True)

    def list(self, loader, path):
        if self.mode == "native":
            cmd = ["chroot", self.root, loader, "--list", path]
        elif self.mode == "chroot-qemu":
            cmd = ["chroot", self.root, ORACLE_DIR + "/qemu", loader, "--list", path]
        else:
            cmd = [f"qemu-{self.qemu}", "-L", self.root, loader, "--list", path]
        try:
            p = subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=120)
        except subprocess.TimeoutExpired:
            return -1, "timeout"
        return p.returncode, p.stdout.decode("utf-8", "replace")


RE_GLIBC_NOT_FOUND = re.compile(r"^\s*(\S+) => not found", re.M)
RE_GLIBC_CANNOT_OPEN = re.compile(r"error while loading shared libraries: ([^:]+): cannot open shared object file")
RE_GLIBC_VERSION = re.compile(r"version `([^']+)' not found \(required by ([^)]+)\)")
RE_MUSL_LOAD = re.compile(r"Error loading shared library ([^:]+): ([^\n]*?) \(needed by ([^)]+)\)")
RE_MUSL_RELOC = re.compile(r"Error relocating ([^:]+): ([^:]+): symbol not found")


def classify_listing(code, out):
    missing = RE_GLIBC_NOT_FOUND.findall(out) + RE_GLIBC_CANNOT_OPEN.findall(out)
    missing += [m[0] for m in RE_MUSL_LOAD.findall(out)]
    if missing:
        return "missing-library", "not found: " + ", ".join(sorted(set(missing)))
    versions = RE_GLIBC_VERSION.findall(out)
    if versions:
        return "missing-version", "; ".join(sorted({f"{v} (required by {r})" for v, r in versions}))
    relocs = RE_MUSL_RELOC.findall(out)
    if relocs:
        return "missing-symbol", "; ".join(sorted({f"{s} (in {o})" for o, s in relocs})[:10])
    if code == 0:
        return "loads", ""
    return "error", f"exit {code}: " + out.strip()[-400:]


def expected_machine(arch):
    cls, mach = ARCHES[arch][:2]
    return cls, mach


def machine_name(m):
    return MACHINE_NAMES.get(m, f"e_machine {m}")


def judge_elf(root, arch, runner, rel, info):
    cls, mach = expected_machine(arch)
    if info.elf_class != cls or info.machine != mach:
        return "exec-format", f"{machine_name(info.machine)} ELF{32 if info.elf_class == 1 else 64}, platform is {arch}"
    if info.interp is None:
        if not info.dynamic:
            return "static", ""
        if info.pie and not info.needed:
            return "static", "static-pie"
        if not info.needed:
            return "loads", "no DT_NEEDED"
        glibc, musl = ARCHES[arch][2], ARCHES[arch][3]
        wants_musl = any(n == "libc.so" or n.startswith("libc.musl-") for n in info.needed)
        order = [musl, glibc] if wants_musl else [glibc, musl]
        loader = next((l for l in order if resolve(root, l)), None)
        if loader is None:
            return "missing-interpreter", "shared object, and no loader for it in the root"
    else:
        host = resolve(root, info.interp)
        if host is None or not os.path.isfile(host):
            return "missing-interpreter", f"PT_INTERP {info.interp} does not exist"
        interp = parse_elf(host)
        if interp is None or interp.elf_class != cls or interp.machine != mach:
            what = "not ELF" if interp is None else machine_name(interp.machine)
            return "exec-format", f"PT_INTERP {info.interp} is {what}"
        loader = info.interp
    code, out = runner.list(loader, rel)
    return classify_listing(code, out)


def judge_script(root, arch, first_line):
    line = first_line[2:].strip()
    if not line:
        return "missing-interpreter", "empty #! line"
    interp = line.split()[0]
    host = resolve(root, interp)
    if host is None or not os.path.isfile(host):
        return "missing-interpreter", f"#! {interp} does not exist"
    return "loads", f"#! {interp}"


def scan(root, arch, qemu_dir, jobs, ld_library_path=None):
    root = os.path.abspath(root)
    runner = Runner(root, arch, qemu_dir, ld_library_path)
    results = []
    not_judged = collections.Counter()
    try:
        work = []
        for dirpath, dirnames, filenames in os.walk(root):
            if dirpath == root and ORACLE_DIR.lstrip("/") in dirnames:
                dirnames.remove(ORACLE_DIR.lstrip("/"))
            dirnames.sort()
            for name in sorted(filenames):
                host = os.path.join(dirpath, name)
                st = os.lstat(host)
                if not stat.S_ISREG(st.st_mode) or st.st_size < 4:
                    continue
                rel = "/" + os.path.relpath(host, root)
                with open(host, "rb") as f:
                    head = f.read(4)
                    if head == b"\x7fELF":
                        info = parse_elf(host)
                        if info.e_type in (ET_EXEC, ET_DYN):
                            work.append((rel, info))
                        else:
                            not_judged[{1: "relocatable", 4: "core"}.get(info.e_type, f"e_type {info.e_type}")] += 1
                    elif head[:2] == b"#!" and st.st_mode & 0o111:
                        f.seek(0)
                        first = f.read(256).split(b"\n", 1)[0].decode("utf-8", "replace")
                        verdict, detail = judge_script(root, arch, first)
                        results.append({"path": rel, "kind": "script", "verdict": verdict, "detail": detail})
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(judge_elf, root, arch, runner, rel, info): rel for rel, info in work}
            for fut, rel in futures.items():
                verdict, detail = fut.result()
                results.append({"path": rel, "kind": "elf", "verdict": verdict, "detail": detail})
    finally:
        runner.close()
    results.sort(key=lambda r: r["path"])
    return results, not_judged


def unpack_image(image, platform, tmp):
    """skopeo: reduce to one platform; umoci: unpack it. Returns (rootfs, LD_LIBRARY_PATH)."""
    parts = platform.split("/")
    if len(parts) < 2:
        raise SystemExit("oracle: --platform is OS/ARCH[/VARIANT]")
    cmd = ["skopeo", "copy", "-q", "--override-os", parts[0], "--override-arch", parts[1]]
    if len(parts) > 2:
        cmd += ["--override-variant", parts[2]]
    layout = os.path.join(tmp, "layout")
    subprocess.run(cmd + [image, f"oci:{layout}:oracle"], check=True)
    rootfs = os.path.join(tmp, "rootfs")
    subprocess.run(["umoci", "raw", "unpack", "--image", f"{layout}:oracle", rootfs], check=True,
                   stdout=sys.stderr)
    with open(os.path.join(layout, "index.json")) as f:
        top = json.load(f)["manifests"][0]["digest"].split(":", 1)[1]
    with open(os.path.join(layout, "blobs", "sha256", top)) as f:
        cfg = json.load(f)["config"]["digest"].split(":", 1)[1]
    with open(os.path.join(layout, "blobs", "sha256", cfg)) as f:
        env = (json.load(f).get("config") or {}).get("Env") or []
    ld = next((e.split("=", 1)[1] for e in env if e.startswith("LD_LIBRARY_PATH=")), None)
    return rootfs, ld


def main():
    ap = argparse.ArgumentParser(description="Run the real loader on every ELF file of a root filesystem.")
    ap.add_argument("root", nargs="?")
    ap.add_argument("arch", nargs="?", choices=sorted(ARCHES))
    ap.add_argument("--image", help="transport:reference for skopeo, e.g. oci:DIR:latest")
    ap.add_argument("--platform", help="OS/ARCH[/VARIANT] of --image")
    ap.add_argument("--qemu-dir", default=os.path.join(
        os.environ.get("ELFGATE_FIXTURES", os.path.expanduser("~/.cache/elfgate-fixtures")), "tools", "qemu"))
    ap.add_argument("--summary")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("oracle: needs root (chroot)")
    tmp = None
    try:
        if args.image:
            if not args.platform:
                raise SystemExit("oracle: --image needs --platform")
            arch = args.platform.split("/")[1]
            if arch == "arm" and args.platform.endswith("/v7"):
                arch = "armhf"
            if arch not in ARCHES:
                raise SystemExit(f"oracle: unsupported architecture {arch}")
            tmp = tempfile.mkdtemp(prefix="elfgate-oracle-")
            root, ld = unpack_image(args.image, args.platform, tmp)
        else:
            if not args.root or not args.arch:
                ap.error("ROOT and ARCH are required without --image")
            root, arch, ld = args.root, args.arch, None
        results, not_judged = scan(root, arch, args.qemu_dir, args.jobs, ld)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    out = sys.stdout
    for r in results:
        out.write(json.dumps(r, sort_keys=False) + "\n")
    if args.summary:
        elf = [r for r in results if r["kind"] == "elf"]
        summary = {
            "elf_files": len(elf),
            "scripts": len(results) - len(elf),
            "not_judged": dict(sorted(not_judged.items())),
            "verdicts": dict(sorted(collections.Counter(r["verdict"] for r in elf).items())),
            "script_verdicts": dict(sorted(collections.Counter(r["verdict"] for r in results if r["kind"] == "script").items())),
        }
        with open(args.summary, "w") as f:
            f.write(json.dumps(summary, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
