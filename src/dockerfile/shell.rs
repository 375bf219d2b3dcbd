//! Just enough POSIX shell to read `RUN` lines: words with quotes, simple
//! commands between `&&`, `||`, `;`, `|` and newlines, leading `NAME=value`
//! assignments, and `$NAME` / `${NAME}` references. Not an interpreter: no
//! expansion is run, nothing is executed.

/// Words split at unquoted blanks, quotes kept as written.
pub fn raw_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None | Some('"'), '\\') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Words split at unquoted blanks, quotes removed.
pub fn words(text: &str) -> Vec<String> {
    raw_words(text).iter().map(|w| unquote(w)).collect()
}

/// Removes shell quoting from one word.
pub fn unquote(word: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '\\') => out.extend(chars.next()),
            (Some('"'), '\\') => match chars.next() {
                Some(n @ ('"' | '\\' | '$' | '`')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            _ => out.push(c),
        }
    }
    out
}

/// One simple command: leading assignments and the words after them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    pub env: Vec<(String, String)>,
    pub argv: Vec<String>,
}

impl Command {
    /// The program's name without its directory.
    pub fn program(&self) -> &str {
        self.argv
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .unwrap_or("")
    }

    pub fn arg(&self, i: usize) -> &str {
        self.argv.get(i).map(String::as_str).unwrap_or("")
    }
}

/// The simple commands of a script, in order. Reserved words (`if`, `then`,
/// `do`, ...) and wrappers (`sudo`, `env`, `exec`, `time`, `nice`) are skipped.
pub fn commands(script: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for piece in split_commands(script) {
        let mut cmd = Command::default();
        for w in words(&piece) {
            if cmd.argv.is_empty() {
                if matches!(
                    w.as_str(),
                    "if" | "then"
                        | "else"
                        | "elif"
                        | "fi"
                        | "do"
                        | "done"
                        | "while"
                        | "until"
                        | "!"
                        | "{"
                        | "}"
                        | "sudo"
                        | "exec"
                        | "time"
                        | "nice"
                        | "env"
                        | "export"
                ) {
                    continue;
                }
                if let Some((k, v)) = assignment(&w) {
                    cmd.env.push((k, v));
                    continue;
                }
            }
            cmd.argv.push(w);
        }
        if !cmd.argv.is_empty() || !cmd.env.is_empty() {
            out.push(cmd);
        }
    }
    out
}

fn assignment(word: &str) -> Option<(String, String)> {
    let (k, v) = word.split_once('=')?;
    let mut chars = k.chars();
    let first = chars.next()?;
    if (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Some((k.to_string(), v.to_string()))
    } else {
        None
    }
}

/// Splits a script at unquoted command separators; `\` + newline joins lines.
fn split_commands(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None | Some('"'), '\\') => match chars.next() {
                Some('\n') => cur.push(' '),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => {}
            },
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, '#') if cur.is_empty() || cur.ends_with(char::is_whitespace) => {
                // A comment runs to the end of the line.
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            (None, ';' | '|' | '&' | '\n' | '(' | ')' | '`') => {
                out.push(std::mem::take(&mut cur));
            }
            (None, '$') if chars.peek() == Some(&'(') => {
                chars.next();
                out.push(std::mem::take(&mut cur));
            }
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.retain(|s| !s.trim().is_empty());
    out
}

/// Names referenced as `$NAME` or `${NAME...}`, with their byte offsets.
/// A `$` preceded by a backslash is not a reference.
pub fn var_uses(text: &str) -> Vec<(usize, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || (i > 0 && bytes[i - 1] == b'\\') {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let braced = bytes.get(i) == Some(&b'{');
        if braced {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i > name_start && !bytes[name_start].is_ascii_digit() {
            out.push((start, text[name_start..i].to_string()));
        }
    }
    out
}

/// Expands `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME-word}` with
/// `lookup`; references that `lookup` does not know are left as written.
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(inner) = after.strip_prefix('{')
            && let Some(close) = inner.find('}')
        {
            let body = &inner[..close];
            let (name, default) = match body.find([':', '-']) {
                Some(k) => {
                    let d = body[k..].trim_start_matches(':');
                    (&body[..k], d.strip_prefix('-'))
                }
                None => (body, None),
            };
            match lookup(name).filter(|v| !v.is_empty()) {
                Some(v) => out.push_str(&v),
                None => match default {
                    Some(d) => out.push_str(d),
                    None => out.push_str(&rest[pos..pos + 2 + close + 1]),
                },
            }
            rest = &inner[close + 1..];
            continue;
        }
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        match lookup(name).filter(|_| !name.is_empty()) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[pos..pos + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}
