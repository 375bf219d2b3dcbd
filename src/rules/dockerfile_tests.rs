//! Each Dockerfile rule: a case that fires and one that must not, with the
//! expected rule and line worked out by reading the Dockerfile.

use super::{DockerfileInput, check_dockerfile};
use crate::dockerfile::parse;

/// (rule, line) of every finding.
fn findings(text: &str) -> Vec<(&'static str, u32)> {
    let df = parse(text);
    check_dockerfile(&DockerfileInput {
        path: "Dockerfile",
        dockerfile: &df,
        multi_platform: true,
    })
    .into_iter()
    .map(|f| (f.rule, f.line.unwrap_or(0)))
    .collect()
}

/// Docker's documented cross-compilation pattern, with a static final image.
const GO_CROSS: &str = "\
# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/app /app
ENTRYPOINT [\"/app\"]
";

#[test]
fn go_cross_compile_pattern_is_clean() {
    assert_eq!(findings(GO_CROSS), vec![]);
}

#[test]
fn go_cross_compile_into_alpine_with_cgo_off_is_clean() {
    let text = "\
FROM --platform=${BUILDPLATFORM} golang:1.22-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \\
    go build -ldflags=\"-s -w\" -o /out/app .

FROM alpine:3.20
RUN apk add --no-cache ca-certificates
COPY --from=build /out/app /usr/local/bin/app
";
    assert_eq!(findings(text), vec![]);
}

#[test]
fn hardcoded_arch_fires_on_the_tini_download() {
    let text = "\
FROM debian:bookworm-slim
ADD https://github.com/krallin/tini/releases/download/v0.19.0/tini-static-amd64 /sbin/tini
RUN chmod +x /sbin/tini
";
    assert_eq!(findings(text), vec![("dockerfile-hardcoded-arch", 2)]);
}

#[test]
fn hardcoded_arch_points_at_the_heredoc_line() {
    let text = "\
FROM debian:bookworm-slim
RUN <<EOF
set -e
curl -fsSL -o /tmp/n.tgz https://nodejs.org/dist/v20.11.0/node-v20.11.0-linux-x64.tar.gz
EOF
";
    assert_eq!(findings(text), vec![("dockerfile-hardcoded-arch", 4)]);
}

#[test]
fn hardcoded_arch_is_quiet_when_the_step_uses_targetarch_or_asks_the_system() {
    let text = "\
FROM debian:bookworm-slim
ARG TARGETARCH
ADD https://github.com/krallin/tini/releases/download/v0.19.0/tini-static-${TARGETARCH} /sbin/tini
RUN case \"$(dpkg --print-architecture)\" in \\
      amd64) a=x86_64 ;; arm64) a=aarch64 ;; esac && \\
    curl -o /usr/local/bin/tool https://example.com/tool-linux-$a
RUN apt-get install -y libc6-dev-amd64-cross
";
    // The last step names a package, not a URL or path.
    assert_eq!(findings(text), vec![]);
}

#[test]
fn hardcoded_arch_is_not_checked_for_single_platform_builds() {
    let df = parse("FROM debian\nRUN ln -s /usr/lib/x86_64-linux-gnu/libz.so /lib/libz.so\n");
    let multi = check_dockerfile(&DockerfileInput {
        path: "Dockerfile",
        dockerfile: &df,
        multi_platform: true,
    });
    assert_eq!(multi.len(), 1);
    assert_eq!(multi[0].rule, "dockerfile-hardcoded-arch");
    let single = check_dockerfile(&DockerfileInput {
        path: "Dockerfile",
        dockerfile: &df,
        multi_platform: false,
    });
    assert!(single.is_empty(), "{single:?}");
}

#[test]
fn emulated_build_fires_on_a_build_stage_without_buildplatform() {
    let text = "\
FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app .

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
";
    assert_eq!(findings(text), vec![("dockerfile-emulated-build", 1)]);
}

#[test]
fn emulated_build_fires_on_make_in_a_heredoc_and_on_native_npm() {
    let text = "\
FROM debian:bookworm AS c
RUN <<EOF
./configure
make -j4
EOF
FROM node:20 AS web
RUN apt-get update && apt-get install -y build-essential python3
RUN npm ci
FROM debian:bookworm-slim
COPY --from=c /usr/local/bin/x /x
COPY --from=web /app /app
";
    assert_eq!(
        findings(text),
        vec![
            ("dockerfile-emulated-build", 1),
            ("dockerfile-emulated-build", 6)
        ]
    );
}

#[test]
fn emulated_build_ignores_pure_js_installs_and_native_stages() {
    let text = "\
FROM node:20 AS web
RUN npm ci && npm run build
FROM --platform=$BUILDPLATFORM rust:1.80 AS rs
RUN cargo build --release
FROM rs AS rs-test
RUN cargo build --tests
FROM nginx:alpine
COPY --from=web /app/dist /usr/share/nginx/html
";
    assert_eq!(findings(text), vec![]);
}

#[test]
fn cgo_libc_fires_on_the_consul_template_trap() {
    let text = "\
FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/consul-template .

FROM alpine:3.20
COPY --from=build /out/consul-template /usr/local/bin/
ENTRYPOINT [\"consul-template\"]
";
    let f = findings(text);
    assert!(f.contains(&("dockerfile-cgo-libc", 4)), "{f:?}");
}

#[test]
fn cgo_libc_is_quiet_with_cgo_off_alpine_builders_or_glibc_finals() {
    for text in [
        // ENV in the build stage.
        "FROM golang:1.22 AS b\nENV CGO_ENABLED=0\nRUN go build -o /app .\nFROM alpine\nCOPY --from=b /app /app\n",
        // Exported earlier in the same RUN.
        "FROM golang:1.22 AS b\nRUN export CGO_ENABLED=0 && go build -o /app .\nFROM alpine\nCOPY --from=b /app /app\n",
        // Built on musl already.
        "FROM golang:1.22-alpine AS b\nRUN go build -o /app .\nFROM alpine:3.20\nCOPY --from=b /app /app\n",
        // A glibc final image.
        "FROM golang:1.22 AS b\nRUN go build -o /app .\nFROM debian:bookworm-slim\nCOPY --from=b /app /app\n",
        // A static link.
        "FROM golang:1.22 AS b\nRUN go build -ldflags '-extldflags \"-static\"' -o /app .\nFROM alpine\nCOPY --from=b /app /app\n",
    ] {
        let f = findings(text);
        assert!(
            !f.iter().any(|(r, _)| *r == "dockerfile-cgo-libc"),
            "{text}\n{f:?}"
        );
    }
}

#[test]
fn platform_pinned_fires_on_the_final_stage_and_its_bases() {
    let text = "\
ARG PLATFORM=linux/amd64
FROM --platform=$PLATFORM debian:bookworm-slim AS base
RUN apt-get update
FROM base
COPY app /app
";
    assert_eq!(findings(text), vec![("dockerfile-platform-pinned", 2)]);
    let text = "FROM --platform=$BUILDPLATFORM alpine\nCOPY app /app\n";
    assert_eq!(findings(text), vec![("dockerfile-platform-pinned", 1)]);
}

#[test]
fn platform_pinned_ignores_copied_from_stages_and_target_platform() {
    let text = "\
FROM --platform=linux/amd64 node:20 AS assets
RUN npm ci && npm run build
FROM --platform=$TARGETPLATFORM nginx:1.27
COPY --from=assets /app/dist /usr/share/nginx/html
";
    assert_eq!(findings(text), vec![]);
}

#[test]
fn arg_scope_fires_when_the_stage_does_not_declare_the_argument() {
    let text = "\
ARG TARGETARCH
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
WORKDIR /src
RUN CGO_ENABLED=0 GOOS=linux GOARCH=$TARGETARCH go build -o /out/app .
ARG TARGETARCH
RUN echo ${TARGETARCH}
FROM alpine:3.20
COPY --from=build /out/app /app
";
    // Line 4 uses it before the ARG on line 5; line 6 is fine.
    assert_eq!(findings(text), vec![("dockerfile-arg-scope", 4)]);
}

#[test]
fn arg_scope_follows_inheritance_and_from_lines() {
    let text = "\
FROM --platform=$BUILDPLATFORM golang:1.22 AS base
ARG TARGETOS TARGETARCH
FROM base AS build
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .
FROM --platform=$TARGETPLATFORM gcr.io/distroless/static
COPY --from=build /out/app /app
";
    assert_eq!(findings(text), vec![]);
}

/// The `tonistiigi/xx` cross-compiling pattern (Rust), a native JS build, and
/// a final stage that downloads tini for `$TARGETARCH`: all clean.
const XX_CROSS: &str = r#"# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx

FROM --platform=$BUILDPLATFORM rust:1.80-alpine AS build
COPY --from=xx / /
RUN apk add clang lld
ARG TARGETPLATFORM
RUN xx-apk add --no-cache musl-dev gcc
WORKDIR /src
COPY . .
RUN xx-cargo build --release --target-dir ./build && \
    xx-verify ./build/$(xx-cargo --print-target-triple)/release/app && \
    cp ./build/$(xx-cargo --print-target-triple)/release/app /app

FROM --platform=$BUILDPLATFORM node:20 AS web
WORKDIR /web
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM alpine:3.20
ARG TARGETARCH
RUN apk add --no-cache ca-certificates
ADD --chmod=755 https://github.com/krallin/tini/releases/download/v0.19.0/tini-static-${TARGETARCH} /sbin/tini
COPY --from=build /app /usr/local/bin/app
COPY --from=web /web/dist /srv
ENTRYPOINT ["/sbin/tini", "--", "/usr/local/bin/app"]
"#;

#[test]
fn xx_cross_compile_pattern_is_clean() {
    assert_eq!(findings(XX_CROSS), vec![]);
}

#[test]
fn arg_scope_fires_in_a_flag_value_without_the_arg() {
    // The final stage of XX_CROSS without its `ARG TARGETARCH` (line 23):
    // the ADD on line 25, now 24, downloads `tini-static-`.
    let text = XX_CROSS.replace("ARG TARGETARCH\n", "");
    assert_eq!(findings(&text), vec![("dockerfile-arg-scope", 24)]);
}
