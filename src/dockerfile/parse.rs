//! Text → [`Dockerfile`], following BuildKit's parser: directives at the top,
//! comments and blank lines dropped (also inside continued instructions), the
//! escape character joining lines, heredoc bodies after `RUN`/`COPY`/`ADD`.

use super::{ArgDecl, Args, Dockerfile, Flag, Heredoc, Instruction, Stage, shell};

/// The largest Dockerfile read; larger input is cut here.
pub const MAX_DOCKERFILE_SIZE: usize = 4 << 20;

/// Parses a Dockerfile. Never fails: what BuildKit would reject is kept as
/// well as it can be (an unterminated heredoc runs to the end of the file).
pub fn parse(text: &str) -> Dockerfile {
    let text = if text.len() > MAX_DOCKERFILE_SIZE {
        let mut end = MAX_DOCKERFILE_SIZE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[..end]
    } else {
        text
    };
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let escape = escape_directive(&lines);
    let mut df = Dockerfile {
        escape,
        ..Dockerfile::default()
    };
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        if t.is_empty() || t.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let mut logical = String::new();
        loop {
            let line = lines[i].trim_end();
            i += 1;
            match line.strip_suffix(escape) {
                Some(head) => {
                    logical.push_str(head);
                    // Comment and blank lines inside a continued instruction are dropped.
                    while i < lines.len() && is_blank_or_comment(lines[i]) {
                        i += 1;
                    }
                    if i >= lines.len() {
                        break;
                    }
                }
                None => {
                    logical.push_str(line);
                    break;
                }
            }
        }
        let logical = logical.trim();
        let (keyword, rest) = match logical.find(char::is_whitespace) {
            Some(k) => (&logical[..k], logical[k..].trim_start()),
            None => (logical, ""),
        };
        let keyword = keyword.to_ascii_uppercase();
        let (flags, rest) = if matches!(keyword.as_str(), "FROM" | "RUN" | "COPY" | "ADD") {
            split_flags(rest)
        } else {
            (Vec::new(), rest)
        };
        let args = match rest.starts_with('[') {
            true => match serde_json::from_str::<Vec<String>>(rest) {
                Ok(words) => Args::Exec(words),
                Err(_) => Args::Shell(rest.to_string()),
            },
            false => Args::Shell(rest.to_string()),
        };
        let mut heredocs = Vec::new();
        if let (Args::Shell(s), "RUN" | "COPY" | "ADD") = (&args, keyword.as_str()) {
            for (delimiter, strip_tabs) in heredoc_markers(s) {
                let body_line = i;
                let mut body = String::new();
                while i < lines.len() {
                    let line = lines[i];
                    i += 1;
                    let line = if strip_tabs {
                        line.trim_start_matches('\t')
                    } else {
                        line
                    };
                    if line == delimiter {
                        break;
                    }
                    body.push_str(line);
                    body.push('\n');
                }
                heredocs.push(Heredoc {
                    delimiter,
                    body,
                    line: line_no(body_line),
                });
            }
        }
        let ins = Instruction {
            line: line_no(start),
            end_line: line_no(i.saturating_sub(1)).max(line_no(start)),
            keyword,
            flags,
            args,
            heredocs,
        };
        add(&mut df, ins);
    }
    df
}

fn line_no(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The `# escape=` directive, which must come before any other line but
/// other directives.
fn escape_directive(lines: &[&str]) -> char {
    let mut escape = '\\';
    for line in lines {
        let Some(rest) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            break;
        }
        if key.eq_ignore_ascii_case("escape") {
            match value.trim() {
                "`" => escape = '`',
                "\\" => escape = '\\',
                _ => {}
            }
        }
    }
    escape
}

/// Leading `--name[=value]` words, and the rest of the line.
fn split_flags(mut rest: &str) -> (Vec<Flag>, &str) {
    let mut flags = Vec::new();
    while let Some(after) = rest.strip_prefix("--") {
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let word = &after[..end];
        if word.is_empty() {
            break;
        }
        let (name, value) = match word.split_once('=') {
            Some((n, v)) => (n, Some(shell::unquote(v))),
            None => (word, None),
        };
        flags.push(Flag {
            name: name.to_ascii_lowercase(),
            value,
        });
        rest = after[end..].trim_start();
    }
    (flags, rest)
}

/// Heredoc markers in a shell-form line: words `<<NAME`, `<<-NAME`,
/// `<<"NAME"`, `<<'NAME'` (optionally after a file descriptor number), in order.
fn heredoc_markers(line: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for word in shell::raw_words(line) {
        let w = word.trim_start_matches(|c: char| c.is_ascii_digit());
        let Some(rest) = w.strip_prefix("<<") else {
            continue;
        };
        if rest.starts_with('<') {
            continue; // a here-string, `<<<`
        }
        let (strip_tabs, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let delimiter = shell::unquote(rest);
        if delimiter.is_empty() {
            continue;
        }
        out.push((delimiter, strip_tabs));
    }
    out
}

fn add(df: &mut Dockerfile, ins: Instruction) {
    match ins.keyword.as_str() {
        "FROM" => {
            let words = shell::words(&ins.args.text());
            let base = words.first().cloned().unwrap_or_default();
            let name = match words.as_slice() {
                [_, as_, name, ..] if as_.eq_ignore_ascii_case("as") => {
                    Some(name.to_ascii_lowercase())
                }
                _ => None,
            };
            let index = df.stages.len();
            df.stages.push(Stage {
                index,
                name,
                base,
                platform: ins.flag("platform").map(str::to_string),
                line: ins.line,
                instructions: Vec::new(),
            });
        }
        _ => match df.stages.last_mut() {
            Some(stage) => stage.instructions.push(ins),
            None if ins.keyword == "ARG" => df.global_args.extend(arg_decls(&ins)),
            None => {}
        },
    }
}

/// The names an `ARG` instruction declares, with their defaults.
pub fn arg_decls(ins: &Instruction) -> Vec<ArgDecl> {
    shell::words(&ins.args.text())
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((n, v)) => ArgDecl {
                name: n.to_string(),
                default: Some(v.to_string()),
            },
            None => ArgDecl {
                name: w,
                default: None,
            },
        })
        .collect()
}

/// The names an `ENV` instruction sets, with their values (`K=V ...`, or the
/// legacy `K V`).
pub fn env_pairs(ins: &Instruction) -> Vec<(String, String)> {
    let text = ins.args.text();
    let words = shell::words(&text);
    if let Some(first) = words.first()
        && !first.contains('=')
    {
        let value = text.trim_start()[first.len().min(text.trim_start().len())..].trim();
        return vec![(first.clone(), shell::unquote(value))];
    }
    words
        .into_iter()
        .filter_map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}
