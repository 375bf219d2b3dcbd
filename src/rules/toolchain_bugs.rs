//! The knowledge base of `toolchain-bug`: `rules/toolchain-bugs.toml` and
//! the rustc release-commit table `rules/rust-releases.toml`, both compiled
//! in and parsed once.

use std::cmp::Ordering;
use std::sync::OnceLock;

use serde::Deserialize;

use super::Severity;

const BUGS_TOML: &str = include_str!("../../rules/toolchain-bugs.toml");
const RUST_RELEASES_TOML: &str = include_str!("../../rules/rust-releases.toml");

/// Which toolchain an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Toolchain {
    Go,
    Rust,
    Musl,
}

/// One known bug.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bug {
    pub id: String,
    pub toolchain: Toolchain,
    pub architectures: Vec<String>,
    /// Comparisons joined by commas: `">= 1.18, < 1.19"`.
    pub affected: String,
    pub fixed: Option<String>,
    #[serde(deserialize_with = "severity")]
    pub severity: Severity,
    pub symptom: String,
    pub sources: Vec<String>,
}

impl Bug {
    /// Whether `version` (`1.13.8`, `go1.13.8`) is in the affected range.
    /// A version or range that cannot be read matches nothing.
    pub fn affects(&self, version: &str) -> bool {
        let Some(v) = Version::parse(version) else {
            return false;
        };
        parse_range(&self.affected).is_some_and(|range| {
            !range.is_empty() && range.iter().all(|(op, bound)| op.holds(v.cmp(bound)))
        })
    }
}

fn severity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    let s = String::deserialize(d)?;
    match s.as_str() {
        "info" => Ok(Severity::Info),
        "warning" => Ok(Severity::Warning),
        "error" => Ok(Severity::Error),
        _ => Err(serde::de::Error::custom(format!(
            "severity {s:?}: expected info, warning or error"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BugFile {
    bug: Vec<Bug>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RustRelease {
    pub version: String,
    pub commit: String,
    pub date: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseFile {
    release: Vec<RustRelease>,
}

/// Every entry of `rules/toolchain-bugs.toml`.
pub fn bugs() -> &'static [Bug] {
    static BUGS: OnceLock<Vec<Bug>> = OnceLock::new();
    BUGS.get_or_init(|| parse_bugs(BUGS_TOML).unwrap_or_default())
}

/// The rustc release built from `commit`, if the table knows it.
pub fn rust_version_of_commit(commit: &str) -> Option<&'static str> {
    static RELEASES: OnceLock<Vec<RustRelease>> = OnceLock::new();
    RELEASES
        .get_or_init(|| parse_releases(RUST_RELEASES_TOML).unwrap_or_default())
        .iter()
        .find(|r| r.commit.eq_ignore_ascii_case(commit))
        .map(|r| r.version.as_str())
}

/// Parses and validates a bug file: unique ids, known architectures,
/// readable ranges, at least one source.
pub fn parse_bugs(text: &str) -> Result<Vec<Bug>, String> {
    let file: BugFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = std::collections::BTreeSet::new();
    for b in &file.bug {
        let fail = |why: &str| Err(format!("bug {}: {why}", b.id));
        if b.id.is_empty() || !seen.insert(b.id.clone()) {
            return fail("empty or duplicate id");
        }
        if b.architectures.is_empty()
            || b.architectures.iter().any(|a| {
                ![
                    "amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64",
                ]
                .contains(&a.as_str())
            })
        {
            return fail("architectures must be OCI names");
        }
        match parse_range(&b.affected) {
            Some(r) if !r.is_empty() => {}
            _ => return fail("affected is not a version range"),
        }
        if let Some(f) = &b.fixed {
            if Version::parse(f).is_none() {
                return fail("fixed is not a version");
            }
            if b.affects(f) {
                return fail("the fixed version is inside the affected range");
            }
        }
        if b.sources.is_empty() || b.symptom.trim().is_empty() || b.symptom.contains('\n') {
            return fail("needs a one-line symptom and at least one source");
        }
    }
    Ok(file.bug)
}

pub fn parse_releases(text: &str) -> Result<Vec<RustRelease>, String> {
    let file: ReleaseFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = std::collections::BTreeSet::new();
    for r in &file.release {
        if !seen.insert(r.commit.to_ascii_lowercase()) {
            return Err(format!("{}: commit listed twice", r.version));
        }
        if r.commit.len() != 40 || !r.commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{}: commit is not 40 hex digits", r.version));
        }
        if Version::parse(&r.version).is_none() {
            return Err(format!("{}: not a version", r.version));
        }
    }
    Ok(file.release)
}

/// A dotted version, compared numerically; missing components are 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(Vec<u64>);

impl Version {
    /// `1.13`, `1.13.8`, `go1.13.8`; a suffix after the numbers
    /// (`1.21rc2`, `1.75.0-nightly`) is ignored.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s.strip_prefix("go").unwrap_or(s);
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let parts: Option<Vec<u64>> = s[..end]
            .split('.')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().ok())
            .collect();
        let parts = parts?;
        (!parts.is_empty() && parts.len() <= 4).then_some(Version(parts))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.0.len().max(other.0.len());
        (0..n)
            .map(|i| {
                let a = self.0.get(i).copied().unwrap_or(0);
                let b = other.0.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Op {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Op::Lt => o.is_lt(),
            Op::Le => o.is_le(),
            Op::Gt => o.is_gt(),
            Op::Ge => o.is_ge(),
            Op::Eq => o.is_eq(),
        }
    }
}

fn parse_range(s: &str) -> Option<Vec<(Op, Version)>> {
    s.split(',')
        .map(|c| {
            let c = c.trim();
            let (op, rest) = if let Some(r) = c.strip_prefix("<=") {
                (Op::Le, r)
            } else if let Some(r) = c.strip_prefix(">=") {
                (Op::Ge, r)
            } else if let Some(r) = c.strip_prefix('<') {
                (Op::Lt, r)
            } else if let Some(r) = c.strip_prefix('>') {
                (Op::Gt, r)
            } else if let Some(r) = c.strip_prefix('=') {
                (Op::Eq, r)
            } else {
                return None;
            };
            Some((op, Version::parse(rest)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_knowledge_base_is_valid() {
        let bugs = parse_bugs(BUGS_TOML).expect("rules/toolchain-bugs.toml");
        // The entries the issue starts from, each with its sources.
        for (id, source) in [
            ("go-vdso-signal-crash", "golang/go/issues/32912"),
            ("go-arm64-traceback-hang-1.18", "golang/go/issues/52116"),
            ("go-arm64-traceback-hang-1.17", "golang/go/issues/50772"),
            (
                "rust-aarch64-instant-now-contention",
                "rust-lang/rust/pull/88652",
            ),
            ("musl-arm64-relro-large-pages", "WHATSNEW"),
        ] {
            let b = bugs.iter().find(|b| b.id == id).expect(id);
            assert!(b.sources.iter().any(|s| s.contains(source)), "{id}");
        }
        assert_eq!(bugs.len(), super::bugs().len());
        parse_releases(RUST_RELEASES_TOML).expect("rules/rust-releases.toml");
    }

    #[test]
    fn ranges_compare_numerically() {
        let bug = |affected: &str| Bug {
            id: "x".into(),
            toolchain: Toolchain::Go,
            architectures: vec!["arm64".into()],
            affected: affected.into(),
            fixed: None,
            severity: Severity::Info,
            symptom: "s".into(),
            sources: vec!["s".into()],
        };
        let lt14 = bug("< 1.14");
        assert!(lt14.affects("go1.13.15"));
        assert!(lt14.affects("go1.9")); // 9 < 14, not "1.9" > "1.14"
        assert!(!lt14.affects("go1.14"));
        assert!(!lt14.affects("devel +abc"));
        let r18 = bug(">= 1.18, < 1.19");
        assert!(r18.affects("go1.18"));
        assert!(r18.affects("go1.18.10"));
        assert!(!r18.affects("go1.19.8"));
        assert!(!r18.affects("go1.17.13"));
        assert!(!bug("garbage").affects("1.0"));
    }

    #[test]
    fn bad_files_are_rejected() {
        let entry = |extra: &str| {
            format!(
                "[[bug]]\nid = \"a\"\ntoolchain = \"go\"\narchitectures = [\"arm64\"]\n\
                 symptom = \"s\"\nsources = [\"u\"]\nseverity = \"info\"\n{extra}"
            )
        };
        assert!(parse_bugs(&entry("affected = \"< 1.14\"\nfixed = \"1.14\"")).is_ok());
        assert!(parse_bugs(&entry("affected = \"< 1.14\"\nfixed = \"1.13\"")).is_err());
        assert!(parse_bugs(&entry("affected = \"1.14\"")).is_err());
        assert!(parse_bugs(&entry("affected = \"< 1.14\"\nbogus = 1")).is_err());
        let twice = format!(
            "{}\n{}",
            entry("affected = \"< 2\""),
            entry("affected = \"< 2\"")
        );
        assert!(parse_bugs(&twice).is_err());
    }

    #[test]
    fn release_commits_map_to_versions() {
        // `rustc --version --verbose` of 1.55.0: commit-hash c8dfcfe0...
        assert_eq!(
            rust_version_of_commit("c8dfcfe046a7680554bf4eb612bad840e7631c4b"),
            Some("1.55.0")
        );
        // 1.57.0 (f1edd0429 2021-11-29) has the fix.
        let v = rust_version_of_commit("f1edd0429582dd29cccacaf50fd134b05593bd9c");
        assert_eq!(v, Some("1.57.0"));
        let bug = bugs()
            .iter()
            .find(|b| b.id == "rust-aarch64-instant-now-contention")
            .unwrap();
        assert!(!bug.affects("1.57.0"));
        assert!(bug.affects("1.56.1"));
        assert_eq!(rust_version_of_commit(&"0".repeat(40)), None);
    }
}
