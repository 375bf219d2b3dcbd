//! One test per construct BuildKit accepts; expected values worked out by hand
//! from the Dockerfile reference.

use super::shell::{self, commands, expand, var_uses};
use super::*;

fn only_stage(df: &Dockerfile) -> &Stage {
    assert_eq!(df.stages.len(), 1, "{df:#?}");
    &df.stages[0]
}

#[test]
fn continuation_lines_join_and_keep_the_first_line_number() {
    let df = parse("FROM alpine\n\nRUN apk add \\\n    curl \\\n    git\nCMD [\"sh\"]\n");
    let s = only_stage(&df);
    assert_eq!(s.instructions.len(), 2);
    let run = &s.instructions[0];
    assert_eq!((run.line, run.end_line), (3, 5));
    assert_eq!(run.args, Args::Shell("apk add     curl     git".into()));
    assert_eq!(s.instructions[1].line, 6);
}

#[test]
fn comments_and_blank_lines_inside_a_continuation_are_dropped() {
    let df = parse("FROM alpine\nRUN echo a \\\n# a comment\n\n  && echo b\n");
    let run = &only_stage(&df).instructions[0];
    assert_eq!(run.args, Args::Shell("echo a   && echo b".into()));
    assert_eq!(run.end_line, 5);
}

#[test]
fn escape_directive_switches_to_backtick() {
    let text =
        "# escape=`\nFROM mcr.microsoft.com/windows/servercore\nRUN dir C:\\ `\n    && echo done\n";
    let df = parse(text);
    assert_eq!(df.escape, '`');
    let run = &only_stage(&df).instructions[0];
    // The backslash is an ordinary character now; the backtick continues.
    assert_eq!(run.args, Args::Shell("dir C:\\     && echo done".into()));
}

#[test]
fn escape_directive_after_a_comment_is_just_a_comment() {
    let df = parse("# hello\n# escape=`\nFROM alpine\nRUN echo a \\\n  b\n");
    assert_eq!(df.escape, '\\');
    assert_eq!(
        only_stage(&df).instructions[0].args,
        Args::Shell("echo a   b".into())
    );
}

#[test]
fn heredocs_carry_their_bodies_and_lines() {
    let text =
        "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nRUN echo after\n";
    let df = parse(text);
    let s = only_stage(&df);
    assert_eq!(s.instructions.len(), 2);
    let run = &s.instructions[0];
    assert_eq!(run.heredocs.len(), 1);
    assert_eq!(run.heredocs[0].delimiter, "EOF");
    assert_eq!(
        run.heredocs[0].body,
        "apt-get update\napt-get install -y curl\n"
    );
    assert_eq!(run.heredocs[0].line, 3);
    assert_eq!(run.end_line, 5);
    assert_eq!(s.instructions[1].line, 6);
    // The body is a script: its commands are visible.
    let scripts = run.scripts();
    assert_eq!(scripts.len(), 2);
    assert_eq!(scripts[1].0, 3);
}

#[test]
fn quoted_dashed_and_several_heredocs() {
    let text = "FROM alpine\nCOPY <<'A' <<-\"B\" /etc/\none $X\nA\n\t\ttwo\n\tB\nRUN true\n";
    let df = parse(text);
    let s = only_stage(&df);
    let copy = &s.instructions[0];
    assert_eq!(copy.heredocs.len(), 2);
    assert_eq!(copy.heredocs[0].delimiter, "A");
    assert_eq!(copy.heredocs[0].body, "one $X\n");
    assert_eq!(copy.heredocs[1].delimiter, "B");
    assert_eq!(copy.heredocs[1].body, "two\n");
    assert_eq!(s.instructions[1].keyword, "RUN");
    assert_eq!(s.instructions[1].line, 7);
}

#[test]
fn heredoc_into_a_file_is_not_a_script() {
    let df = parse("FROM alpine\nRUN cat <<EOF > /etc/motd\nmake everything\nEOF\n");
    let run = &only_stage(&df).instructions[0];
    assert_eq!(run.heredocs[0].body, "make everything\n");
    assert_eq!(run.scripts().len(), 1);
}

#[test]
fn here_strings_and_quoted_markers_are_not_heredocs() {
    let df = parse("FROM alpine\nRUN cat <<< hi && echo \"<<EOF\"\nRUN true\n");
    let s = only_stage(&df);
    assert!(s.instructions[0].heredocs.is_empty());
    assert_eq!(s.instructions.len(), 2);
}

#[test]
fn exec_and_shell_forms() {
    let df = parse(
        "FROM alpine\nRUN [\"sh\", \"-c\", \"echo $HOME\"]\nCMD [\"a\", \"b c\"]\nENTRYPOINT [not json\n",
    );
    let s = only_stage(&df);
    assert_eq!(
        s.instructions[0].args,
        Args::Exec(vec!["sh".into(), "-c".into(), "echo $HOME".into()])
    );
    assert_eq!(s.instructions[0].args.text(), "echo $HOME");
    assert_eq!(
        s.instructions[1].args,
        Args::Exec(vec!["a".into(), "b c".into()])
    );
    assert_eq!(s.instructions[2].args, Args::Shell("[not json".into()));
}

#[test]
fn args_before_from_are_global() {
    let df = parse(
        "ARG VERSION=3.20\nARG BASE\nFROM alpine:${VERSION} AS base\nARG VERSION\nRUN echo $VERSION\n",
    );
    assert_eq!(
        df.global_args,
        vec![
            ArgDecl {
                name: "VERSION".into(),
                default: Some("3.20".into())
            },
            ArgDecl {
                name: "BASE".into(),
                default: None
            },
        ]
    );
    let s = only_stage(&df);
    assert_eq!(s.base, "alpine:${VERSION}");
    assert_eq!(df.expand_global(&s.base), "alpine:3.20");
    assert_eq!(s.instructions[0].keyword, "ARG");
}

#[test]
fn from_platform_flag_and_stage_names() {
    let df = parse(
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\nRUN go build\nfrom build as test\nFROM --platform=linux/amd64 alpine\nCOPY --from=Build /out /out\nCOPY --from=0 /x /x\n",
    );
    assert_eq!(df.stages.len(), 3);
    assert_eq!(df.stages[0].platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(df.stages[0].name.as_deref(), Some("build"));
    assert_eq!(df.stages[1].base, "build");
    assert_eq!(df.parent(1), Some(0));
    assert_eq!(df.ancestry(1), vec![1, 0]);
    assert_eq!(
        df.effective_platform(1).map(|(_, p)| p),
        Some("$BUILDPLATFORM")
    );
    assert_eq!(df.stages[2].platform.as_deref(), Some("linux/amd64"));
    let copy = &df.stages[2].instructions[0];
    assert_eq!(copy.flag("from"), Some("Build"));
    assert_eq!(df.stage_ref("Build", 2), Some(0));
    assert_eq!(df.stage_ref("0", 2), Some(0));
    assert_eq!(df.stage_ref("2", 2), None);
    assert_eq!(df.stage_ref("nginx:latest", 2), None);
}

#[test]
fn run_flags_are_split_from_the_command() {
    let df = parse("FROM alpine\nRUN --mount=type=cache,target=/root/.cache --network=none make\n");
    let run = &only_stage(&df).instructions[0];
    assert_eq!(run.flags.len(), 2);
    assert_eq!(run.flag("mount"), Some("type=cache,target=/root/.cache"));
    assert_eq!(run.args, Args::Shell("make".into()));
}

#[test]
fn crlf_line_endings() {
    let df = parse("FROM alpine\r\nRUN echo a \\\r\n  b\r\n");
    assert_eq!(
        only_stage(&df).instructions[0].args,
        Args::Shell("echo a   b".into())
    );
}

#[test]
fn hostile_input_does_not_panic() {
    for text in [
        "",
        "\\",
        "FROM",
        "RUN <<",
        "FROM a\nRUN <<EOF",
        "FROM a\nRUN <<-'",
        "FROM a\nCOPY --from= x y",
        "FROM a\nRUN ${",
        "\u{feff}FROM a\nRUN ${X:-",
        "# escape=`\n`",
    ] {
        let df = parse(text);
        for s in &df.stages {
            for i in &s.instructions {
                let _ = i.full_text();
                let _ = var_uses(&i.full_text());
            }
        }
    }
}

#[test]
fn env_and_arg_declarations() {
    let df = parse("FROM a\nENV A=1 B=\"two words\"\nENV LEGACY some value\nARG X Y=2\n");
    let s = only_stage(&df);
    assert_eq!(
        env_pairs(&s.instructions[0]),
        vec![("A".into(), "1".into()), ("B".into(), "two words".into())]
    );
    assert_eq!(
        env_pairs(&s.instructions[1]),
        vec![("LEGACY".into(), "some value".into())]
    );
    let names: Vec<_> = arg_decls(&s.instructions[2])
        .into_iter()
        .map(|a| (a.name, a.default))
        .collect();
    assert_eq!(
        names,
        vec![("X".into(), None), ("Y".into(), Some("2".into()))]
    );
}

#[test]
fn shell_commands_keep_assignments_apart() {
    let cmds = commands(
        "apt-get update && CGO_ENABLED=0 GOOS=$TARGETOS go build -o /out ./cmd; \\\n make | tee log",
    );
    let progs: Vec<&str> = cmds.iter().map(|c| c.program()).collect();
    assert_eq!(progs, ["apt-get", "go", "make", "tee"]);
    assert_eq!(
        cmds[1].env,
        vec![
            ("CGO_ENABLED".into(), "0".into()),
            ("GOOS".into(), "$TARGETOS".into())
        ]
    );
    assert_eq!(cmds[1].argv[..2], ["go".to_string(), "build".to_string()]);
    // Quoted separators do not split; `if ... then` words are skipped.
    let cmds = commands("echo 'a && b'; if true; then make; fi");
    let progs: Vec<&str> = cmds.iter().map(|c| c.program()).collect();
    assert_eq!(progs, ["echo", "true", "make"]);
}

#[test]
fn variable_references_and_expansion() {
    let uses: Vec<String> = var_uses("a $TARGETARCH ${TARGETOS:-linux} \\$NOT $1 ${X}")
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert_eq!(uses, ["TARGETARCH", "TARGETOS", "X"]);
    let look = |n: &str| (n == "V").then(|| "3".to_string());
    assert_eq!(expand("a:$V-${V}-${W:-x}-$W", look), "a:3-3-x-$W");
    assert_eq!(shell::unquote("\"a b\"'c'd\\ e"), "a bcd e");
}
