//! `dockerfile-emulated-build`: a compiling stage that runs on the target platform.

use serde_json::json;

use super::Finding;
use super::dockerfile_context::{DockerfileInput, is_build_platform, run_commands};
use crate::dockerfile::{Dockerfile, shell::Command};

pub(super) fn check(input: &DockerfileInput<'_>, out: &mut Vec<Finding>) {
    if !input.multi_platform {
        return;
    }
    let df = input.dockerfile;
    for stage in &df.stages {
        match df.effective_platform(stage.index) {
            Some((_, p)) if is_build_platform(p) => continue,
            // A literal platform is dockerfile-platform-pinned's concern.
            Some((_, p)) if !df.expand_global(p).contains('$') => continue,
            _ => {}
        }
        let native = has_native_toolchain(df, stage.index);
        let Some((line, what)) = run_commands(&stage.instructions)
            .into_iter()
            .find_map(|(_, line, c)| compiles(&c, native).map(|w| (line, w)))
        else {
            continue;
        };
        let name = stage
            .name
            .clone()
            .unwrap_or_else(|| stage.index.to_string());
        out.push(input.finding(
            "dockerfile-emulated-build",
            stage.line,
            format!(
                "stage {name} runs `{what}` (line {line}) but its FROM has no \
                 --platform=$BUILDPLATFORM: for every other target platform the compiler runs \
                 under emulation"
            ),
            json!({"stage": stage.index, "command": what, "command_line": line}),
        ));
    }
}

/// What a command compiles, as a short description, or `None`.
fn compiles(c: &Command, native_toolchain: bool) -> Option<String> {
    let two = || format!("{} {}", c.program(), c.arg(1));
    match c.program() {
        "go" if matches!(c.arg(1), "build" | "install") => Some(two()),
        "cargo" if matches!(c.arg(1), "build" | "install" | "rustc") => Some(two()),
        "make" | "ninja" | "gcc" | "g++" | "cc" | "c++" | "clang" | "clang++" | "mvn" | "mvnw"
        | "gradle" | "gradlew" => Some(c.program().to_string()),
        "cmake" if c.argv.iter().any(|a| a == "--build") => Some("cmake --build".into()),
        "dotnet" if matches!(c.arg(1), "build" | "publish") => Some(two()),
        "npm" | "pnpm" if native_toolchain && matches!(c.arg(1), "install" | "i" | "ci") => {
            Some(two())
        }
        "yarn" if native_toolchain && matches!(c.arg(1), "" | "install") => {
            Some("yarn install".into())
        }
        _ => None,
    }
}

/// Whether a stage (or one it is built on) installs what node-gyp needs to
/// build native modules.
fn has_native_toolchain(df: &Dockerfile, index: usize) -> bool {
    const TOOLS: &[&str] = &[
        "build-essential",
        "g++",
        "gcc",
        "make",
        "node-gyp",
        "build-base",
    ];
    df.ancestry(index).into_iter().any(|i| {
        run_commands(&df.stages[i].instructions)
            .iter()
            .any(|(_, _, c)| {
                let installs = matches!(
                    (c.program(), c.arg(1)),
                    ("apt-get" | "apt" | "yum" | "dnf" | "microdnf", "install")
                        | ("apk", "add")
                        | ("npm", "install" | "i")
                );
                installs && c.argv.iter().any(|a| TOOLS.contains(&a.as_str()))
            })
    })
}
