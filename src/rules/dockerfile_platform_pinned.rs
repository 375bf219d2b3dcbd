//! `dockerfile-platform-pinned`: the final image's stages carry a fixed `--platform`.

use serde_json::json;

use super::Finding;
use super::dockerfile_context::{DockerfileInput, is_build_platform};

pub(super) fn check(input: &DockerfileInput<'_>, out: &mut Vec<Finding>) {
    let df = input.dockerfile;
    let Some(last) = df.stages.len().checked_sub(1) else {
        return;
    };
    for i in df.ancestry(last) {
        let stage = &df.stages[i];
        let Some(written) = stage.platform.as_deref() else {
            continue;
        };
        if stage.base.eq_ignore_ascii_case("scratch") || df.parent(i).is_some() {
            continue;
        }
        let value = df.expand_global(written);
        let what = if !value.contains('$') && !value.trim().is_empty() {
            format!("the literal platform {value}")
        } else if is_build_platform(&value) {
            "the build platform".to_string()
        } else {
            continue;
        };
        let role = if i == last {
            "the final stage".to_string()
        } else {
            format!(
                "stage {}, which the final stage is built on,",
                stage.name.clone().unwrap_or_else(|| i.to_string())
            )
        };
        out.push(input.finding(
            "dockerfile-platform-pinned",
            stage.line,
            format!(
                "{role} is pinned to {what} (--platform={written}): every platform's image \
                 gets {} files",
                if what.starts_with("the literal") {
                    value.as_str()
                } else {
                    "the build machine's"
                }
            ),
            json!({"stage": i, "base": stage.base, "platform": written, "expanded": value}),
        ));
    }
}
