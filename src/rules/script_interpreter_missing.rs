//! `script-interpreter-missing`: a `#!` script that would be executed names an
//! interpreter the image does not have (`#!/bin/bash` on busybox), or
//! `#!/usr/bin/env NAME` with no NAME on the config's PATH.

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::fs::{FsView, NodeKind};
use crate::layers::Content;

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    let view = facts.input.view;
    let entry = facts
        .entrypoint
        .as_ref()
        .and_then(|e| e.resolved.as_ref().ok());
    for (path, node) in view.iter() {
        let Content::Script(line) = &node.content else {
            continue;
        };
        if node.kind != NodeKind::File
            || (node.mode & 0o111 == 0 && entry.map(String::as_str) != Some(path))
        {
            continue;
        }
        let Some(problem) = interpreter_problem(view, line, &facts.env.path) else {
            continue;
        };
        out.push(Finding {
            path: Some(path.to_string()),
            layer: facts.layer_of(node),
            ..Finding::new(
                "script-interpreter-missing",
                format!("{path} starts with `#!{line}`, but {problem}"),
            )
            .details(json!({ "shebang": line }))
        });
    }
}

/// Why the `#!` line `line` (without `#!`) cannot run, or `None` when it can.
fn interpreter_problem(view: &FsView, line: &str, path: &[String]) -> Option<String> {
    let line = line.trim();
    let (interp, arg) = match line.split_once([' ', '\t']) {
        Some((i, a)) => (i, a.trim()),
        None => (line, ""),
    };
    if interp.is_empty() {
        return Some("the `#!` line names no interpreter".into());
    }
    match view.resolve(interp, true) {
        // execve of the script fails with EACCES: `Permission denied`.
        Ok(r) if r.node.kind == NodeKind::File && r.node.mode & 0o111 == 0 => {
            return Some(format!(
                "{interp} is not executable (mode {:o}): `Permission denied`",
                r.node.mode
            ));
        }
        Ok(r) if r.node.kind == NodeKind::File => {}
        Ok(_) => return Some(format!("{interp} is not a regular file")),
        Err(e) => return Some(format!("{interp} is not in the image ({e})")),
    }
    if interp.rsplit('/').next() != Some("env") {
        return None;
    }
    // `env [-S] [-i] [NAME=VALUE]... COMMAND`: the kernel passes everything
    // after the interpreter as one argument, so only `-S` splits it:
    // `#!/usr/bin/env python3 -u` makes env look for a `python3 -u`.
    let split = arg
        .strip_prefix("--split-string")
        .map(|r| r.trim_start_matches('='))
        .or_else(|| arg.strip_prefix("-S"));
    let single = [arg];
    let mut words: Box<dyn Iterator<Item = &str>> = match split {
        Some(rest) => Box::new(rest.split_whitespace()),
        None => Box::new(single.into_iter().filter(|w| !w.is_empty())),
    };
    let command = loop {
        match words.next() {
            None => return None,
            Some(w) if w.starts_with('-') || w.contains('=') => continue,
            Some(w) => break w,
        }
    };
    if command.contains('/') {
        return match view.resolve(command, true) {
            Ok(_) => None,
            Err(e) => Some(format!("env's command {command} is not in the image ({e})")),
        };
    }
    let found = path.iter().any(|dir| {
        view.resolve(&format!("{}/{command}", dir.trim_end_matches('/')), true)
            .is_ok_and(|r| r.node.kind == NodeKind::File && r.node.mode & 0o111 != 0)
    });
    if found {
        return None;
    }
    let path = path.join(":");
    Some(if command.contains([' ', '\t']) {
        format!(
            "env looks for one command named `{command}` (the kernel passes the rest of a `#!` \
             line as one argument; `env -S` splits it), and none is on the image's PATH ({path})"
        )
    } else {
        format!("no `{command}` is on the image's PATH ({path})")
    })
}
