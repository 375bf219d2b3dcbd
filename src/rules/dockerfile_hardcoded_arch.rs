//! `dockerfile-hardcoded-arch`: a RUN or ADD names one architecture literally.

use serde_json::json;

use super::Finding;
use super::dockerfile_context::DockerfileInput;
use crate::dockerfile::shell;

/// Architecture names as they appear in download URLs and library paths.
const ARCH_WORDS: &[&str] = &[
    "x86_64", "x86-64", "amd64", "x64", "aarch64", "arm64", "armhf",
];

/// Text that shows a step adapts to the platform it runs for.
const PLATFORM_AWARE: &[&str] = &[
    "TARGETARCH",
    "TARGETPLATFORM",
    "TARGETVARIANT",
    "uname -m",
    "uname -p",
    "dpkg --print-architecture",
    "apk --print-arch",
    "$(arch)",
    "`arch`",
];

pub(super) fn check(input: &DockerfileInput<'_>, out: &mut Vec<Finding>) {
    if !input.multi_platform {
        return;
    }
    let df = input.dockerfile;
    for stage in &df.stages {
        // A stage pinned to a literal platform is consistent with itself;
        // whether it reaches the final image is dockerfile-platform-pinned's question.
        if let Some((_, p)) = df.effective_platform(stage.index)
            && !df.expand_global(p).contains('$')
        {
            continue;
        }
        for ins in &stage.instructions {
            if !matches!(ins.keyword.as_str(), "RUN" | "ADD") {
                continue;
            }
            let text = ins.full_text();
            if PLATFORM_AWARE.iter().any(|w| text.contains(w)) {
                continue;
            }
            let hit = text.lines().enumerate().find_map(|(k, l)| {
                shell::words(l).into_iter().find_map(|w| {
                    let is_location = w.contains('/');
                    arch_word(&w)
                        .filter(|_| is_location)
                        .map(|a| (k, w.clone(), a))
                })
            });
            let Some((k, word, arch)) = hit else {
                continue;
            };
            out.push(input.finding(
                "dockerfile-hardcoded-arch",
                line_of(ins, k),
                format!(
                    "{} names the architecture {arch} literally in {word}; in a multi-platform \
                     build every platform gets the {arch} file (use ARG TARGETARCH)",
                    ins.keyword
                ),
                json!({"stage": stage.index, "word": word, "architecture": arch}),
            ));
        }
    }
}

/// The first architecture name in `word` that stands as a word of its own.
fn arch_word(word: &str) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    for arch in ARCH_WORDS {
        for (pos, _) in lower.match_indices(arch) {
            let before = pos.checked_sub(1).map(|p| bytes[p]);
            let after = bytes.get(pos + arch.len()).copied();
            let boundary = |b: Option<u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric());
            if boundary(before) && boundary(after) {
                return Some(arch);
            }
        }
    }
    None
}

/// The file line of line `k` of an instruction's full text: the command
/// line is one line of text (its continuations joined), heredoc lines follow.
fn line_of(ins: &crate::dockerfile::Instruction, k: usize) -> u32 {
    let head_lines = ins.full_text().lines().count()
        - ins
            .heredocs
            .iter()
            .map(|h| h.body.lines().count())
            .sum::<usize>();
    if k < head_lines {
        return ins.line;
    }
    let mut k = k - head_lines;
    for h in &ins.heredocs {
        let n = h.body.lines().count();
        if k < n {
            return h.line.saturating_add(u32::try_from(k).unwrap_or(0));
        }
        k -= n;
    }
    ins.line
}

#[cfg(test)]
mod tests {
    use super::arch_word;

    #[test]
    fn arch_names_are_found_only_as_words() {
        assert_eq!(arch_word("tini-static-amd64"), Some("amd64"));
        assert_eq!(arch_word("app_linux_arm64.tar.gz"), Some("arm64"));
        assert_eq!(arch_word("/usr/lib/x86_64-linux-gnu"), Some("x86_64"));
        assert_eq!(arch_word("node-v20-linux-x64.tar.xz"), Some("x64"));
        assert_eq!(arch_word("/opt/samd64x"), None);
        assert_eq!(arch_word("tini-static-${TARGETARCH}"), None);
    }
}
