//! `dockerfile-cgo-libc`: Go built with cgo on glibc, copied into a musl stage.

use serde_json::json;

use super::Finding;
use super::dockerfile_context::{BaseLibc, DockerfileInput, base_libc, is_go_build, run_commands};
use crate::dockerfile::{Dockerfile, env_pairs, shell};

pub(super) fn check(input: &DockerfileInput<'_>, out: &mut Vec<Finding>) {
    let df = input.dockerfile;
    for build in &df.stages {
        let Some(root) = df.root_image(build.index) else {
            continue;
        };
        if base_libc(&df.expand_global(&root.base)) != BaseLibc::Glibc
            || cgo_off_in_stage(df, build.index)
        {
            continue;
        }
        // The first `go build` that cgo is not turned off for.
        let mut cgo_off_in_run = false;
        let mut found = None;
        for (_, line, c) in run_commands(&build.instructions) {
            let sets_off = c.env.iter().any(|(k, v)| k == "CGO_ENABLED" && v == "0");
            if (sets_off && c.argv.is_empty())
                || (c.program() == "go"
                    && c.arg(1) == "env"
                    && c.argv.iter().any(|a| a == "CGO_ENABLED=0"))
            {
                cgo_off_in_run = true;
                continue;
            }
            if is_go_build(&c) && !sets_off && !cgo_off_in_run && !links_statically(&c) {
                found = Some((line, c));
                break;
            }
        }
        let Some((line, cmd)) = found else {
            continue;
        };
        // Stages that copy from this one and are Alpine (musl).
        let musl_copy = df.stages[build.index + 1..].iter().find_map(|t| {
            let t_root = df.root_image(t.index)?;
            if base_libc(&df.expand_global(&t_root.base)) != BaseLibc::Musl {
                return None;
            }
            t.instructions
                .iter()
                .filter(|i| i.keyword == "COPY")
                .find(|i| {
                    i.flag("from")
                        .and_then(|f| df.stage_ref(f, t.index))
                        .is_some_and(|s| s == build.index)
                })
                .map(|i| (i.line, t_root.base.clone()))
        });
        let Some((copy_line, musl_base)) = musl_copy else {
            continue;
        };
        let name = build
            .name
            .clone()
            .unwrap_or_else(|| build.index.to_string());
        out.push(input.finding(
            "dockerfile-cgo-libc",
            line,
            format!(
                "`{}` in stage {name} runs on glibc ({}) without CGO_ENABLED=0, and line \
                 {copy_line} copies its output into {musl_base} (musl): a program that uses cgo \
                 needs glibc's loader, which is not there",
                cmd.argv.join(" "),
                root.base
            ),
            json!({
                "stage": build.index,
                "build_base": root.base,
                "copy_line": copy_line,
                "final_base": musl_base,
            }),
        ));
    }
}

/// `CGO_ENABLED=0` from `ENV` or an `ARG` default in the stage or its ancestors.
fn cgo_off_in_stage(df: &Dockerfile, index: usize) -> bool {
    df.ancestry(index).into_iter().any(|i| {
        df.stages[i]
            .instructions
            .iter()
            .any(|ins| match ins.keyword.as_str() {
                "ENV" => env_pairs(ins)
                    .iter()
                    .any(|(k, v)| k == "CGO_ENABLED" && v == "0"),
                "ARG" => crate::dockerfile::arg_decls(ins)
                    .iter()
                    .any(|a| a.name == "CGO_ENABLED" && a.default.as_deref() == Some("0")),
                _ => false,
            })
    })
}

/// `-ldflags '-extldflags "-static"'`: a static link with cgo on.
fn links_statically(c: &shell::Command) -> bool {
    c.argv
        .iter()
        .any(|a| a.contains("-extldflags") && a.contains("-static"))
        || c.argv
            .windows(2)
            .any(|w| w[0].contains("-extldflags") && w[1].contains("-static"))
}
