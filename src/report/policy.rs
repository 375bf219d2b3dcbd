//! The policy sink: the one place where a team's policy meets the findings.
//!
//! Rules push findings at their default severity and know nothing of this.
//! Here, once, per finding: a rule turned `off` drops it, a severity override
//! replaces its severity, a matching unexpired ignore hides it, a baseline
//! hides what was already known; then `--fail-on` turns what is left into
//! the exit status.

use std::collections::BTreeMap;
use std::fmt;

use super::baseline::{Baseline, fingerprint};
use super::{FailOn, Report, exit_code};
use crate::platform::Platform;
use crate::rules::{Finding, Severity};

/// A calendar date (proleptic Gregorian), for ignores that expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if !(all_digits(y) && all_digits(m) && all_digits(d)) {
            return None;
        }
        let date = Date {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        (date.month >= 1 && date.month <= 12 && date.day >= 1 && date.day <= date.month_len())
            .then_some(date)
    }

    fn month_len(self) -> u8 {
        let leap = (self.year % 4 == 0 && self.year % 100 != 0) || self.year % 400 == 0;
        match self.month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// The date `days` days after 1970-01-01 (Howard Hinnant's civil-from-days).
    pub fn from_unix_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }

    /// Today, in UTC, by the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_unix_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// What the configuration says about one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    /// The rule's findings are dropped.
    Off,
    /// The rule's findings get this severity.
    Severity(Severity),
}

/// One `[[ignore]]` entry. Every field given must match; absent fields match anything.
#[derive(Debug, Clone)]
pub struct Ignore {
    pub rule: Option<String>,
    /// A glob over the path inside the image (or the Dockerfile's path).
    pub path: Option<glob::Pattern>,
    pub platform: Option<Platform>,
    /// A glob over the image reference as given on the command line.
    pub image: Option<glob::Pattern>,
    pub reason: String,
    pub expires: Option<Date>,
    /// Where it was written, e.g. `.elfgate.toml:12`, for messages.
    pub origin: String,
}

impl Ignore {
    /// Whether the entry covers finding `f` of image `image`.
    pub fn matches(&self, image: &str, f: &Finding) -> bool {
        if self.rule.as_deref().is_some_and(|r| r != f.rule) {
            return false;
        }
        if let Some(p) = &self.path {
            let Some(path) = f.path.as_deref() else {
                return false;
            };
            let opts = glob::MatchOptions {
                require_literal_separator: true,
                ..glob::MatchOptions::default()
            };
            // `usr/lib/**` and `/usr/lib/**` mean the same inside an image.
            let bare = path.trim_start_matches('/');
            if !(p.matches_with(path, opts) || p.matches_with(bare, opts)) {
                return false;
            }
        }
        if let Some(want) = &self.platform {
            let Some(have) = f.platform.as_deref().and_then(|p| Platform::parse(p).ok()) else {
                return false;
            };
            if !have.satisfies(want) {
                return false;
            }
        }
        if let Some(i) = &self.image
            && !i.matches(image)
        {
            return false;
        }
        true
    }

    pub fn expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|e| e < today)
    }
}

/// Everything that decides what is reported and how the run ends.
#[derive(Debug, Clone)]
pub struct Policy {
    pub fail_on: FailOn,
    pub rules: BTreeMap<String, RuleSetting>,
    pub ignores: Vec<Ignore>,
    /// Findings whose fingerprints are here are not reported (`--baseline`).
    pub baseline: Option<Baseline>,
    /// The day that `expires` dates are compared with.
    pub today: Date,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            fail_on: FailOn::Severity(Severity::Error),
            rules: BTreeMap::new(),
            ignores: Vec::new(),
            baseline: None,
            today: Date::today(),
        }
    }
}

/// What the sink did, for the user to see on stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Findings of rules turned `off`.
    pub disabled: usize,
    /// Findings hidden by an unexpired ignore.
    pub ignored: usize,
    /// Findings hidden because the baseline has them.
    pub baselined: usize,
    /// Sentences about the policy itself: expired ignores, above all.
    pub notes: Vec<String>,
}

impl Policy {
    /// Applies the policy to every finding of `report`, in place.
    pub fn apply(&self, report: &mut Report) -> Outcome {
        let mut out = Outcome::default();
        let mut expired_hits = vec![0usize; self.ignores.len()];
        for image in &mut report.images {
            let reference = image.reference.clone();
            image.findings.retain_mut(|f| {
                match self.rules.get(f.rule) {
                    Some(RuleSetting::Off) => {
                        out.disabled += 1;
                        return false;
                    }
                    Some(RuleSetting::Severity(s)) => f.severity = *s,
                    None => {}
                }
                for (k, ig) in self.ignores.iter().enumerate() {
                    if ig.matches(&reference, f) {
                        if ig.expired(self.today) {
                            expired_hits[k] += 1;
                            continue;
                        }
                        out.ignored += 1;
                        return false;
                    }
                }
                if self
                    .baseline
                    .as_ref()
                    .is_some_and(|b| b.contains(&fingerprint(f)))
                {
                    out.baselined += 1;
                    return false;
                }
                true
            });
        }
        for (ig, hits) in self.ignores.iter().zip(expired_hits) {
            if let Some(date) = ig.expires.filter(|_| ig.expired(self.today)) {
                out.notes.push(format!(
                    "the ignore at {} ({}) expired on {date}; it no longer hides its \
                     findings ({hits} reported again)",
                    ig.origin, ig.reason
                ));
            }
        }
        out
    }

    /// The exit status for what is left after [`Policy::apply`]: 0 or 1.
    pub fn exit_code(&self, report: &Report) -> i32 {
        exit_code(report, self.fail_on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ImageReport;

    fn finding(rule: &'static str, platform: &str, path: &str) -> Finding {
        Finding {
            platform: Some(platform.into()),
            path: Some(path.into()),
            ..Finding::new(rule, "m")
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        Report {
            images: vec![ImageReport::new(
                "oci:app".into(),
                String::new(),
                Vec::new(),
                findings,
            )],
        }
    }

    fn ignore(rule: &str, path: &str, expires: Option<&str>) -> Ignore {
        Ignore {
            rule: Some(rule.into()),
            path: Some(glob::Pattern::new(path).unwrap()),
            platform: None,
            image: None,
            reason: "vendored".into(),
            expires: expires.and_then(Date::parse),
            origin: ".elfgate.toml:3".into(),
        }
    }

    #[test]
    fn dates_parse_strictly_and_count_from_the_epoch() {
        assert_eq!(
            Date::parse("2024-02-29"),
            Some(Date {
                year: 2024,
                month: 2,
                day: 29
            })
        );
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2024-2-1"), None);
        assert_eq!(Date::from_unix_days(0).to_string(), "1970-01-01");
        // 2000-03-01 is day 11017 (30 years of 365 days, 7 leap days, Jan+Feb 2000 = 60).
        assert_eq!(Date::from_unix_days(11_017).to_string(), "2000-03-01");
    }

    #[test]
    fn overrides_off_and_ignores_are_applied_in_one_pass() {
        let mut r = report(vec![
            finding("missing-library", "linux/arm64", "/opt/vendor/lib/a.so"),
            finding("missing-library", "linux/arm64", "/usr/bin/app"),
            finding("page-size", "linux/arm64", "/usr/bin/app"),
            finding("toolchain-bug", "linux/amd64", "/usr/bin/app"),
        ]);
        let mut policy = Policy {
            today: Date::parse("2026-06-01").unwrap(),
            ..Policy::default()
        };
        policy.rules.insert("page-size".into(), RuleSetting::Off);
        policy.rules.insert(
            "toolchain-bug".into(),
            RuleSetting::Severity(Severity::Error),
        );
        policy.ignores.push(ignore(
            "missing-library",
            "/opt/vendor/**",
            Some("2027-01-01"),
        ));
        let out = policy.apply(&mut r);
        assert_eq!((out.disabled, out.ignored, out.baselined), (1, 1, 0));
        let left: Vec<(&str, Severity)> = r.findings().map(|f| (f.rule, f.severity)).collect();
        assert_eq!(
            left,
            [
                ("toolchain-bug", Severity::Error),
                ("missing-library", Severity::Error)
            ]
        );
        assert_eq!(policy.exit_code(&r), 1);
    }

    #[test]
    fn an_expired_ignore_stops_hiding_and_says_so() {
        let mut r = report(vec![finding(
            "missing-library",
            "linux/arm64",
            "/opt/vendor/lib/a.so",
        )]);
        let policy = Policy {
            ignores: vec![ignore(
                "missing-library",
                "/opt/vendor/**",
                Some("2026-05-31"),
            )],
            today: Date::parse("2026-06-01").unwrap(),
            ..Policy::default()
        };
        let out = policy.apply(&mut r);
        assert_eq!(out.ignored, 0);
        assert_eq!(r.findings().count(), 1);
        assert_eq!(out.notes.len(), 1);
        assert!(
            out.notes[0].contains("expired on 2026-05-31"),
            "{:?}",
            out.notes
        );
        assert!(out.notes[0].contains(".elfgate.toml:3"));
    }

    #[test]
    fn ignore_fields_must_all_match() {
        let f = finding("missing-library", "linux/arm64/v8", "/usr/lib/x.so");
        let mut ig = ignore("missing-library", "usr/lib/*.so", None);
        assert!(ig.matches("oci:app", &f));
        ig.platform = Some(Platform::parse("linux/amd64").unwrap());
        assert!(!ig.matches("oci:app", &f));
        ig.platform = Some(Platform::parse("linux/arm64").unwrap());
        assert!(ig.matches("oci:app", &f));
        ig.image = Some(glob::Pattern::new("registry.example/*").unwrap());
        assert!(!ig.matches("oci:app", &f));
        // `*` does not cross a directory.
        let deep = finding("missing-library", "linux/arm64", "/usr/lib/sub/x.so");
        assert!(!ignore("missing-library", "/usr/lib/*.so", None).matches("i", &deep));
        assert!(!ignore("missing-interpreter", "/usr/lib/*.so", None).matches("i", &f));
    }
}
