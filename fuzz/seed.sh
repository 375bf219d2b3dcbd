#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets (fuzz/corpus/TARGET/) from the
# repository's real fixtures: the ELF files of testdata/elf, the blobs of the
# demo image, and small layers, caches and configuration files made here.
# Idempotent; the corpora are not committed.
set -euo pipefail
cd "$(dirname "$0")"
repo=..
c=corpus
mkdir -p "$c"/{elf_facts,toolchain_blobs,layer_reader,fs_resolve,image_json,ld_so_cache,ld_so_conf,dockerfile,webhook}

# ELF files: every fixture binary (the fuzzer mutates from real headers),
# including the small toolchain ones that carry Go build info,
# cargo-auditable data, `.comment` and ARM attributes.
for f in "$repo"/testdata/elf/* "$repo"/testdata/toolchain/*; do
    [ -f "$f" ] && head -c 4 "$f" | grep -q ELF && head -c 65536 "$f" > "$c/elf_facts/$(basename "$f")"
done
for f in /bin/true /usr/lib/x86_64-linux-gnu/libc.so.6; do
    [ -f "$f" ] && head -c 65536 "$f" > "$c/elf_facts/host-$(basename "$f")"
done

# Toolchain blobs: a selector byte, then the section the decoder reads,
# cut out of the toolchain fixtures with the offsets readelf lists.
section() { # FILE NAME: the bytes of section NAME of FILE
    local off size
    read -r off size < <(readelf -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] //p' |
        awk -v n="$2" '$1 == n { print $4, $5 }')
    tail -c +$((16#$off + 1)) "$1" | head -c $((16#$size))
}
le64() { # N: N as 8 little-endian bytes
    local i
    for i in 0 1 2 3 4 5 6 7; do
        printf "\\$(printf %03o $((($1 >> (8 * i)) & 255)))"
    done
}
t=$c/toolchain_blobs
tc=$repo/testdata/toolchain
# Go: the address of the area, then the area: the 1.18+ section alone, and
# the whole pre-1.18 file (its one PT_LOAD maps offset 0 at 0x400000), whose
# pointers lead to string headers elsewhere in it.
{ printf '\0'; le64 $((0x400080)); section "$tc/go1.18.3-arm64" .go.buildinfo; } > "$t/go118"
{ printf '\0'; le64 $((0x400000)); cat "$tc/go1.13-arm64"; } > "$t/go113"
{ printf '\1'; section "$tc/rust-auditable-jemalloc-arm64" .dep-v0; } > "$t/auditable"
{ printf '\2'; section "$tc/armel-hello" .ARM.attributes; } > "$t/armel"
{ printf '\2'; section "$repo/testdata/elf/armhf-glibc-dynamic" .ARM.attributes; } > "$t/armhf"
{ printf '\3'; section "$tc/rust-auditable-jemalloc-arm64" .comment; } > "$t/comment-rustc"
{ printf '\3'; section "$tc/armel-hello" .comment; } > "$t/comment-gcc"
{ printf '\4'; section "$tc/rust1.55-commit-arm64" .rodata; } > "$t/rustc-commit"
printf '\4musl libc (x86_64)\0\0001.2.3\0' > "$t/musl"

# Layers: small tars with a file, a directory, a symlink, a hard link,
# whiteouts and a long name, plain, gzip and zstd; and the demo image's
# smallest layer blobs.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/etc/ld.so.conf.d" "$work/root/bin" "$work/root/usr/lib"
printf '#!/bin/sh\necho hi\n' > "$work/root/bin/run"
printf 'include /etc/ld.so.conf.d/*.conf\n' > "$work/root/etc/ld.so.conf"
printf '/usr/local/lib\n' > "$work/root/etc/ld.so.conf.d/local.conf"
head -c 2048 "$repo/testdata/elf/x86_64-musl-static" > "$work/root/bin/prog"
ln -s prog "$work/root/bin/link"
ln "$work/root/bin/prog" "$work/root/bin/hard"
touch "$work/root/usr/lib/.wh.gone" "$work/root/usr/.wh..wh..opq"
mkdir -p "$work/root/$(printf 'n%.0s' $(seq 120))"
tar -C "$work/root" --format=gnu -cf "$c/layer_reader/gnu.tar" .
tar -C "$work/root" --format=pax -cf "$c/layer_reader/pax.tar" .
gzip -9 -c "$c/layer_reader/gnu.tar" > "$c/layer_reader/gnu.tar.gz"
zstd -q -f -19 "$c/layer_reader/pax.tar" -o "$c/layer_reader/pax.tar.zst"
for b in "$repo"/testdata/demo/blobs/sha256/*; do
    size=$(stat -c %s "$b")
    if head -c 2 "$b" | od -An -tx1 | grep -q '1f 8b' && [ "$size" -lt 200000 ]; then
        cp "$b" "$c/layer_reader/demo-$(basename "$b" | head -c 12)"
    fi
done

# Image JSON: each demo document alone, and a chain index → manifest → config.
for b in "$repo"/testdata/demo/index.json "$repo"/testdata/demo/blobs/sha256/*; do
    if head -c 1 "$b" | grep -q '{'; then
        cp "$b" "$c/image_json/demo-$(basename "$b" | head -c 12)"
    fi
done
cat > "$c/image_json/chain" <<'JSON'
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"@1","platform":{"os":"linux","architecture":"amd64"}}]}
--
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@2","platform":{"os":"linux","architecture":"arm","variant":"v7"}}]}
--
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@3"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"@4"}]}
--
{"architecture":"arm","os":"linux","variant":"v7","config":{"Env":["PATH=/bin"],"Entrypoint":["/bin/sh"],"Cmd":null}}
--
layer
JSON

# ld.so.cache: the host's, and the fixture root's when it was built.
for f in /etc/ld.so.cache "${ELFGATE_FIXTURES:-$HOME/.cache/elfgate-fixtures}/roots/bookworm-amd64/etc/ld.so.cache"; do
    [ -f "$f" ] && cp "$f" "$c/ld_so_cache/$(echo "$f" | md5sum | head -c 8)"
done

# ld.so.conf: the host's files joined the way the target splits them.
{
    cat /etc/ld.so.conf 2>/dev/null || printf 'include /etc/ld.so.conf.d/*.conf\n'
    for f in /etc/ld.so.conf.d/*.conf; do
        [ -f "$f" ] && { printf '\n--\n'; cat "$f"; }
    done
} > "$c/ld_so_conf/host"
printf '/lib=elf\n# c\nhwcap 1 x\ninclude 1.conf ../* /etc/ld.so.conf\n\n--\n/usr/lib/x86_64-linux-gnu\ninclude /etc/ld.so.conf\n' \
    > "$c/ld_so_conf/includes"

# Path resolution: a few byte strings (the target builds layers from them).
printf '\x02\x10\x00\x01\x03\x05\x00\x02\x04\x01\x02\x03\x00\x04\x04\x00\x05' > "$c/fs_resolve/a"
head -c 256 /dev/urandom > "$c/fs_resolve/random" || true

# Dockerfiles.
cat > "$c/dockerfile/multi" <<'DOCKER'
# syntax=docker/dockerfile:1
# escape=\
ARG BASE=debian:bookworm
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETARCH
ENV CGO_ENABLED=0 GOARCH=${TARGETARCH}
RUN go build -o /out/app . && \
    echo done
FROM ${BASE}
COPY --from=build /out/app /usr/bin/app
ENTRYPOINT ["/usr/bin/app"]
DOCKER
# Webhook payloads: one of each endpoint's shape.
d=sha256:$(printf 'image' | sha256sum | cut -d' ' -f1)
cat > "$c/webhook/distribution" <<JSON
{"events": [{"id": "ev", "timestamp": "2026-01-01T00:00:00Z", "action": "push",
  "target": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "$d",
             "repository": "team/app", "tag": "v1",
             "url": "http://registry.example.com/v2/team/app/manifests/$d"},
  "request": {"id": "r", "host": "registry.example.com", "method": "PUT"}},
 {"id": "ev2", "action": "pull", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
  "digest": "$d", "repository": "team/app"}, "request": {"host": "registry.example.com"}}]}
JSON
cat > "$c/webhook/harbor" <<JSON
{"type": "PUSH_ARTIFACT", "occur_at": 1700000000, "operator": "ci",
 "event_data": {"resources": [{"digest": "$d", "tag": "v1",
   "resource_url": "harbor.example.com/team/app:v1"}],
   "repository": {"name": "app", "namespace": "team", "repo_full_name": "team/app"}}}
JSON
printf '%s\n' '{"push_data": {"tag": "v1", "pusher": "ci"}, "repository": {"repo_name": "team/app", "namespace": "team", "name": "app"}}' \
    > "$c/webhook/dockerhub"
printf '{"image": "registry.example.com/team/app@%s"}' "$d" > "$c/webhook/generic"

echo "seeded: $(find "$c" -type f | wc -l) files"
