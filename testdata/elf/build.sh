#!/bin/sh
# Rebuilds the small ELF fixtures in this directory from src/.
# Needs (Debian bookworm): gcc, gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf,
# musl-tools, binutils-s390x-linux-gnu. Every output is linked with -s (no
# symbol tables) to keep it small; README.md says what each file is.
# The expected values in src/elf tests were read off `readelf -d -l -V -n --wide`.
set -eu
cd "$(dirname "$0")"
S=src
OUT=.
# Smaller files: no separate code segment (fewer page-aligned LOADs).
SMALL="-Os -s -Wl,-z,noseparate-code -Wl,--build-id=none"

# x86-64, glibc, default PIE.
gcc $SMALL -o $OUT/x86_64-glibc-dynamic $S/hello.c

# x86-64, glibc, marked as needing ISA level x86-64-v3 (GNU property note).
gcc $SMALL -Wl,-z,x86-64-v3 -o $OUT/x86_64-glibc-isa-v3 $S/hello.c

# aarch64 and armhf, glibc.
aarch64-linux-gnu-gcc $SMALL -Wl,-z,max-page-size=4096 -o $OUT/aarch64-glibc-dynamic $S/hello.c
arm-linux-gnueabihf-gcc $SMALL -o $OUT/armhf-glibc-dynamic $S/hello.c

# aarch64 shared object without libc or crt files, built with BTI and PAC,
# so that its GNU_PROPERTY_AARCH64_FEATURE_1_AND keeps both bits.
aarch64-linux-gnu-gcc $SMALL -Wl,-z,max-page-size=4096 -shared -nostdlib -fPIC -mbranch-protection=standard \
    -Wl,-soname,libanswer.so.1 -o $OUT/aarch64-libanswer-bti.so $S/nolibc.c

# musl: static, static-pie, dynamic.
musl-gcc $SMALL -static -o $OUT/x86_64-musl-static $S/hello.c
# Debian's musl-gcc specs ignore -static-pie, so its start files are named here.
M=/usr/lib/x86_64-linux-musl
musl-gcc $SMALL -fPIE -nostartfiles -Wl,-static -Wl,-pie -Wl,--no-dynamic-linker \
    -Wl,-z,text -o $OUT/x86_64-musl-static-pie $M/rcrt1.o $M/crti.o \
    "$(gcc -print-file-name=crtbeginS.o)" $S/hello.c "$(gcc -print-file-name=crtendS.o)" $M/crtn.o
musl-gcc $SMALL -o $OUT/x86_64-musl-dynamic $S/hello.c

# A shared library defining FOO_1.0 and FOO_2.0.
gcc $SMALL -shared -fPIC -Wl,--no-as-needed -Wl,-soname,libfoo.so.1 -Wl,--version-script=$S/foo.map \
    -o $OUT/libfoo.so.1 $S/foo.c
ln -sf libfoo.so.1 libfoo.so

# Needs foo@FOO_2.0 only through a weak reference, with an old-style
# DT_RPATH of two entries. GNU ld 2.40 does not mark that version need weak,
# so VER_FLG_WEAK (0x2) is set by hand in the Vernaux of FOO_2.0: vna_flags
# is the u16 at offset 4 of the entry (little-endian here).
gcc $SMALL -o $OUT/usefoo-weak-rpath $S/usefoo_weak.c -L. -Wl,--no-as-needed -lfoo \
    -Wl,--disable-new-dtags -Wl,-rpath,'$ORIGIN/lib:/opt/foo/lib'
vr_off=$(readelf -V --wide $OUT/usefoo-weak-rpath | awk '/^Version needs section/ {getline; print $4}')
aux_off=$(readelf -V --wide $OUT/usefoo-weak-rpath | awk '/Name: FOO_2.0/ {sub(":", "", $1); print $1}')
printf '\002\000' | dd of=$OUT/usefoo-weak-rpath bs=1 seek=$((vr_off + aux_off + 4)) conv=notrunc 2>/dev/null

# Needs foo@FOO_2.0 strongly, DT_RUNPATH and DF_1_NODEFLIB.
gcc $SMALL -o $OUT/usefoo-runpath-nodeflib $S/usefoo.c -L. -lfoo \
    -Wl,--enable-new-dtags -Wl,-rpath,/opt/foo/lib -Wl,-z,nodefaultlib
rm -f libfoo.so

# The same weak/rpath program with its section header table removed
# (e_shoff, e_shnum, e_shstrndx zeroed; ELF64 little-endian offsets 0x28,
# 0x3c, 0x3e): everything must still come from the program headers.
cp $OUT/usefoo-weak-rpath $OUT/usefoo-weak-rpath-noshdr
printf '\000\000\000\000\000\000\000\000' | dd of=$OUT/usefoo-weak-rpath-noshdr bs=1 seek=40 conv=notrunc 2>/dev/null
printf '\000\000\000\000' | dd of=$OUT/usefoo-weak-rpath-noshdr bs=1 seek=60 conv=notrunc 2>/dev/null

# Big-endian (s390x), without a C library: a stub shared library and an
# executable that needs it, linked straight from assembly.
s390x-linux-gnu-as -o stub.o $S/stub-s390x.s
s390x-linux-gnu-ld -s -shared -soname libstub.so.1 -o $OUT/s390x-libstub.so.1 stub.o
s390x-linux-gnu-as -o start.o $S/start-s390x.s
s390x-linux-gnu-ld -s -pie -dynamic-linker /lib/ld64.so.1 -o $OUT/s390x-dynamic \
    start.o $OUT/s390x-libstub.so.1
rm -f stub.o start.o

# aarch64, static, no libc: a stand-in program for image tests.
aarch64-linux-gnu-gcc $SMALL -static -nostdlib -o $OUT/aarch64-static $S/exit-aarch64.c
