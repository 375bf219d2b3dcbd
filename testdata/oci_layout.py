#!/usr/bin/env python3
"""Write an OCI image layout (image-spec v1.1) from root filesystem directories.

Usage: oci_layout.py SPEC.json

SPEC is a JSON object:
  {
    "out": "path/to/layout",          # created (or replaced) as an OCI layout
    "tag": "latest",                  # org.opencontainers.image.ref.name in index.json
    "compression": "gzip",            # gzip | zstd | none, default for layers
    "images": [
      {
        "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
        "layers": ["dir1", {"dir": "dir2", "compression": "zstd"}],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "entrypoint": ["/usr/bin/app"],
        "cmd": null
      }
    ]
  }

One image gives index.json -> manifest. Two or more give index.json -> image
index (with a platform per manifest) -> manifests, the shape a multi-platform
image has when skopeo copies it into an OCI layout with --all.

Output is reproducible: entries sorted, owners 0:0, mtimes fixed
(SOURCE_DATE_EPOCH, default 0), gzip header without name or time. The same
inputs give the same digests.
"""

import gzip
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


class Hashing:
    """A write-only file object that hashes and counts what passes through."""

    def __init__(self, inner):
        self.inner = inner
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        return self.inner.write(data)

    def flush(self):
        self.inner.flush()

    def digest(self):
        return "sha256:" + self.sha.hexdigest()


def walk_sorted_sub(root, rel):
    here = os.path.join(root, rel)
    for name in sorted(os.listdir(here)):
        child_rel = os.path.join(rel, name)
        child_abs = os.path.join(root, child_rel)
        yield child_rel, child_abs
        if stat.S_ISDIR(os.lstat(child_abs).st_mode):
            yield from walk_sorted_sub(root, child_rel)


def write_tar(root, out):
    """Write root's contents as a tar stream (PAX) into the file object out."""
    seen_inodes = {}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for rel, path in _walk(root):
            st = os.lstat(path)
            info = tarfile.TarInfo(rel)
            info.mode = stat.S_IMODE(st.st_mode)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = EPOCH
            fileobj = None
            if stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
            elif stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen_inodes:
                    info.type = tarfile.LNKTYPE
                    info.linkname = seen_inodes[key]
                else:
                    seen_inodes[key] = rel
                    info.type = tarfile.REGTYPE
                    info.size = st.st_size
                    fileobj = open(path, "rb")
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
                info.devmajor = os.major(st.st_rdev)
                info.devminor = os.minor(st.st_rdev)
            elif stat.S_ISFIFO(st.st_mode):
                info.type = tarfile.FIFOTYPE
            else:
                continue  # sockets have no tar form
            try:
                tar.addfile(info, fileobj)
            finally:
                if fileobj is not None:
                    fileobj.close()


def _walk(root):
    if not os.path.isdir(root):
        raise SystemExit(f"oci_layout: not a directory: {root}")
    yield from walk_sorted_sub(root, "")


def write_blob(blobs, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = os.path.join(blobs, digest.split(":", 1)[1])
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": digest, "size": len(data)}


def write_layer(blobs, root, compression):
    """Write one layer blob; return (descriptor, diff_id)."""
    fd, tmp = tempfile.mkstemp(dir=blobs, prefix=".layer-")
    with os.fdopen(fd, "wb") as raw:
        outer = Hashing(raw)
        if compression == "gzip":
            with gzip.GzipFile(filename="", mode="wb", fileobj=outer, mtime=0, compresslevel=6) as gz:
                inner = Hashing(gz)
                write_tar(root, inner)
            diff_id = inner.digest()
        elif compression == "zstd":
            proc = subprocess.Popen(["zstd", "-q", "-c", "-3"], stdin=subprocess.PIPE, stdout=raw)
            inner = Hashing(proc.stdin)
            write_tar(root, inner)
            proc.stdin.close()
            if proc.wait() != 0:
                raise SystemExit("oci_layout: zstd failed")
            raw.flush()
            diff_id = inner.digest()
        elif compression == "none":
            write_tar(root, outer)
            diff_id = outer.digest()
        else:
            raise SystemExit(f"oci_layout: unknown compression {compression!r}")
    if compression == "zstd":
        # zstd wrote to the fd directly: hash the file afterwards.
        sha = hashlib.sha256()
        size = 0
        with open(tmp, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                sha.update(chunk)
                size += len(chunk)
        digest, size = "sha256:" + sha.hexdigest(), size
    else:
        digest, size = outer.digest(), outer.size
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(blobs, digest.split(":", 1)[1]))
    desc = {"mediaType": MT_LAYER[compression], "digest": digest, "size": size}
    return desc, diff_id


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def build_image(blobs, image, default_compression):
    platform = dict(image["platform"])
    layers, diff_ids = [], []
    for layer in image["layers"]:
        if isinstance(layer, str):
            layer = {"dir": layer}
        desc, diff_id = write_layer(blobs, layer["dir"], layer.get("compression", default_compression))
        layers.append(desc)
        diff_ids.append(diff_id)
    config = {
        "architecture": platform["architecture"],
        "os": platform["os"],
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "testdata/oci_layout.py"} for _ in layers],
    }
    if "variant" in platform:
        config["variant"] = platform["variant"]
    for key, field in (("env", "Env"), ("entrypoint", "Entrypoint"), ("cmd", "Cmd"), ("workdir", "WorkingDir")):
        if image.get(key) is not None:
            config["config"][field] = image[key]
    cdesc = write_blob(blobs, canonical(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, **cdesc},
        "layers": layers,
    }
    mdesc = write_blob(blobs, canonical(manifest))
    return {"mediaType": MT_MANIFEST, **mdesc, "platform": platform}


def build(spec):
    out = spec["out"]
    tag = spec.get("tag", "latest")
    compression = spec.get("compression", "gzip")
    if os.path.exists(out):
        shutil.rmtree(out)
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    manifests = [build_image(blobs, image, compression) for image in spec["images"]]
    if len(manifests) == 1 and not spec.get("force_index", False):
        top = dict(manifests[0])
    else:
        nested = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}
        top = {"mediaType": MT_INDEX, **write_blob(blobs, canonical(nested))}
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [top]}
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(canonical(index))
    return top


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        spec = json.load(f)
    top = build(spec)
    print(f"{spec['out']}: {top['mediaType'].rsplit('.', 2)[-2]} {top['digest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
