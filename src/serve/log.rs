//! Structured logs on stderr: one line per event and per scan, as text
//! (`TIME LEVEL message key=value ...`) or as JSON lines
//! (`{"ts": ..., "level": ..., "msg": ..., key: value, ...}`).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::report::policy::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct Logger {
    pub format: LogFormat,
}

impl Logger {
    pub fn info(&self, msg: &str, fields: &[(&str, Value)]) {
        self.write("info", msg, fields);
    }

    pub fn warn(&self, msg: &str, fields: &[(&str, Value)]) {
        self.write("warn", msg, fields);
    }

    pub fn error(&self, msg: &str, fields: &[(&str, Value)]) {
        self.write("error", msg, fields);
    }

    fn write(&self, level: &str, msg: &str, fields: &[(&str, Value)]) {
        let ts = rfc3339(now_ms());
        let mut line = match self.format {
            LogFormat::Json => {
                // Written by hand so that ts, level and msg come first.
                let mut s = format!(
                    "{{\"ts\":{},\"level\":{},\"msg\":{}",
                    Value::String(ts),
                    Value::String(level.into()),
                    Value::String(msg.into())
                );
                for (k, v) in fields {
                    s.push_str(&format!(",{}:{v}", Value::String((*k).to_string())));
                }
                s.push('}');
                s
            }
            LogFormat::Text => {
                let mut s = format!("{ts} {} {msg}", level.to_uppercase());
                for (k, v) in fields {
                    match v {
                        // Quoted (with escapes) so that a value never splits the line.
                        Value::String(text) => s.push_str(&format!(" {k}={text:?}")),
                        other => s.push_str(&format!(" {k}={other}")),
                    }
                }
                s
            }
        };
        line.push('\n');
        // One write per line: lines of concurrent tasks do not interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `2026-12-04T07:30:00.123Z` for milliseconds since the epoch.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}.{millis:03}Z",
        Date::from_unix_days(secs.div_euclid(86_400)),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        // `date -u -d @951782400` prints Tue Feb 29 00:00:00 UTC 2000.
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        // `date -u -d @1798761599` prints Thu Dec 31 23:59:59 UTC 2026.
        assert_eq!(rfc3339(1_798_761_599_000), "2026-12-31T23:59:59.000Z");
    }
}
