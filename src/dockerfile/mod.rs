//! Dockerfiles as BuildKit reads them: parser directives, line continuations,
//! heredocs, exec and shell forms, global `ARG`s, stages and their `FROM` flags.
//!
//! Like `elf`, this is a leaf: text in, a plain owned model out, no I/O. The
//! `dockerfile-*` rules work on [`Dockerfile`]; [`shell`] splits `RUN` text
//! into simple commands for them.

mod parse;
pub mod shell;

#[cfg(test)]
mod tests;

pub use parse::{MAX_DOCKERFILE_SIZE, arg_decls, env_pairs, parse};

/// A parsed Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerfile {
    /// The escape character (`\` unless a `# escape=` directive says `` ` ``).
    pub escape: char,
    /// `ARG`s before the first `FROM`: the global scope that `FROM` lines see.
    pub global_args: Vec<ArgDecl>,
    pub stages: Vec<Stage>,
}

/// One name of an `ARG` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

/// One build stage: a `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    /// The `AS` name, lowercased (BuildKit matches stage names case-insensitively).
    pub name: Option<String>,
    /// The base as written: an image reference, `scratch`, or an earlier stage's name.
    pub base: String,
    /// The `--platform` value as written, if any.
    pub platform: Option<String>,
    /// Line of the `FROM` (1-based).
    pub line: u32,
    pub instructions: Vec<Instruction>,
}

/// One instruction after joining continuation lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// First line (1-based).
    pub line: u32,
    /// Last line, heredoc bodies included.
    pub end_line: u32,
    /// Upper-cased keyword: `RUN`, `COPY`, ...
    pub keyword: String,
    /// Leading `--name[=value]` flags (`FROM`, `RUN`, `COPY`, `ADD`).
    pub flags: Vec<Flag>,
    pub args: Args,
    pub heredocs: Vec<Heredoc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
}

/// An instruction's arguments: JSON (exec) form or shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    Exec(Vec<String>),
    Shell(String),
}

/// A here-document that follows an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word, quotes removed.
    pub delimiter: String,
    /// The body, each line ending in `\n` (leading tabs removed for `<<-`).
    pub body: String,
    /// Line of the body's first line.
    pub line: u32,
}

impl Args {
    /// The text a shell would run (shell form), or the words joined by spaces.
    pub fn text(&self) -> String {
        match self {
            Args::Shell(s) => s.clone(),
            Args::Exec(words) => match words.as_slice() {
                [sh, c, script, ..] if is_shell(sh) && c == "-c" => script.clone(),
                _ => words.join(" "),
            },
        }
    }
}

fn is_shell(word: &str) -> bool {
    matches!(
        word.rsplit('/').next().unwrap_or(word),
        "sh" | "bash" | "ash" | "dash" | "zsh"
    )
}

impl Instruction {
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.value.as_deref())
    }

    /// Everything the instruction says: flag values, arguments, heredoc bodies.
    pub fn full_text(&self) -> String {
        let mut s = String::new();
        for f in &self.flags {
            if let Some(v) = &f.value {
                s.push_str(v);
                s.push(' ');
            }
        }
        s.push_str(&self.args.text());
        for h in &self.heredocs {
            s.push('\n');
            s.push_str(&h.body);
        }
        s
    }

    /// The shell scripts this `RUN` runs: its command line, and each heredoc
    /// body that the shell reads as a script (`RUN <<EOF`, `RUN bash <<EOF`).
    pub fn scripts(&self) -> Vec<(u32, String)> {
        let text = self.args.text();
        let mut out = vec![(self.line, text.clone())];
        let words: Vec<String> = shell::words(&text)
            .into_iter()
            .filter(|w| !w.starts_with("<<") && !w.starts_with("-"))
            .collect();
        let script_like = words.is_empty() || (words.len() == 1 && is_shell(&words[0]));
        if script_like {
            for h in &self.heredocs {
                out.push((h.line, h.body.clone()));
            }
        }
        out
    }
}

impl Dockerfile {
    /// The stage that `reference` (a stage name or index, as in `COPY --from`
    /// or `FROM`) names among the stages before `before`.
    pub fn stage_ref(&self, reference: &str, before: usize) -> Option<usize> {
        let lower = reference.to_ascii_lowercase();
        let found = self.stages[..before.min(self.stages.len())]
            .iter()
            .rev()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
            .map(|s| s.index);
        found.or_else(|| {
            lower
                .parse::<usize>()
                .ok()
                .filter(|&i| i < before.min(self.stages.len()))
        })
    }

    /// The stage `index` is built on, when its base is an earlier stage.
    pub fn parent(&self, index: usize) -> Option<usize> {
        let stage = self.stages.get(index)?;
        let name = stage.base.to_ascii_lowercase();
        self.stages[..index]
            .iter()
            .rev()
            .find(|s| s.name.as_deref() == Some(name.as_str()))
            .map(|s| s.index)
    }

    /// The stage and the stages it is built `FROM`, nearest first.
    pub fn ancestry(&self, index: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = Some(index);
        while let Some(i) = cur {
            if out.contains(&i) || out.len() > self.stages.len() {
                break;
            }
            out.push(i);
            cur = self.parent(i);
        }
        out
    }

    /// The external image at the root of a stage's ancestry.
    pub fn root_image(&self, index: usize) -> Option<&Stage> {
        self.ancestry(index)
            .last()
            .and_then(|&i| self.stages.get(i))
    }

    /// The `--platform` that applies to a stage: its own, or the nearest ancestor's.
    pub fn effective_platform(&self, index: usize) -> Option<(&Stage, &str)> {
        self.ancestry(index).into_iter().find_map(|i| {
            let s = self.stages.get(i)?;
            s.platform.as_deref().map(|p| (s, p))
        })
    }

    /// Expands `$NAME` and `${NAME}` with the global `ARG` defaults, the way a
    /// `FROM` line sees them; unknown names are left as written.
    pub fn expand_global(&self, text: &str) -> String {
        shell::expand(text, |name| {
            self.global_args
                .iter()
                .rev()
                .find(|a| a.name == name)
                .and_then(|a| a.default.clone())
        })
    }
}
