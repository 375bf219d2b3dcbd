//! Where credentials for a registry come from: `--username` with
//! `--password-stdin`, then the auth files in the order given (containers'
//! `auth.json`, Docker's `config.json`): per file, a `credHelpers` entry for
//! the registry, then an `auths` entry, then the `credsStore` helper.
//!
//! Secrets never leave this module except inside the `RegistryAuth` handed
//! to the HTTP client; what is reported is only where they came from.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

/// Where credentials may come from. Paths are decided by the caller (the
/// command layer reads the environment; this module never does).
#[derive(Clone, Default)]
pub struct Credentials {
    /// `--username` and the password read from stdin, for every registry.
    pub explicit: Option<(String, String)>,
    /// Auth files, first match wins: `--authfile` / `REGISTRY_AUTH_FILE`, or
    /// containers' `auth.json` and Docker's `config.json`.
    pub auth_files: Vec<PathBuf>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field(
                "explicit",
                &self.explicit.as_ref().map(|(user, _)| (user, "<redacted>")),
            )
            .field("auth_files", &self.auth_files)
            .finish()
    }
}

/// Credentials found for one registry, and a description of their origin
/// that is safe to print.
pub(crate) struct Found {
    pub auth: RegistryAuth,
    pub origin: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: Option<std::collections::HashMap<String, AuthEntry>>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: Option<std::collections::HashMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The largest auth file read.
const MAX_AUTH_FILE: u64 = 1024 * 1024;

impl Credentials {
    /// The credentials for `repository` on `registry` (as written in the
    /// reference: `docker.io`, `localhost:5000`). Anonymous when none are
    /// configured; an error when a file or helper that applies is broken.
    pub(crate) fn lookup(&self, registry: &str, repository: &str) -> Result<Found, String> {
        if let Some((user, password)) = &self.explicit {
            return Ok(Found {
                auth: RegistryAuth::Basic(user.clone(), password.clone()),
                origin: format!("the password from stdin for user {user:?}"),
            });
        }
        let registry = canonical_host(registry);
        for path in &self.auth_files {
            let Some(file) = read_auth_file(path)? else {
                continue;
            };
            if let Some(helper) = file.cred_helpers.as_ref().and_then(|h| h.get(&registry)) {
                return from_helper(helper, &registry, path);
            }
            if let Some(found) = from_auths(&file, &registry, repository, path)? {
                return Ok(found);
            }
            if let Some(store) = file.creds_store.as_deref().filter(|s| !s.is_empty()) {
                let found = from_helper(store, &registry, path)?;
                if !matches!(found.auth, RegistryAuth::Anonymous) {
                    return Ok(found);
                }
            }
        }
        Ok(Found {
            auth: RegistryAuth::Anonymous,
            origin: "anonymous access (no credentials configured for this registry)".to_string(),
        })
    }
}

fn read_auth_file(path: &Path) -> Result<Option<AuthFile>, String> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let mut bytes = Vec::new();
    file.take(MAX_AUTH_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_AUTH_FILE {
        return Err(format!(
            "{}: larger than {MAX_AUTH_FILE} bytes",
            path.display()
        ));
    }
    // The parse error may quote the file, which holds secrets: say only where.
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        format!(
            "{}: not a valid auth file (JSON error at line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/` → `host:5000`;
/// a key with a namespace (`host/team`) keeps it.
pub(crate) fn canonical_key(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let key = key.trim_end_matches('/');
    let key = key
        .strip_suffix("/v1")
        .or_else(|| key.strip_suffix("/v2"))
        .unwrap_or(key);
    match key.split_once('/') {
        Some((host, rest)) => format!("{}/{rest}", canonical_host(host)),
        None => canonical_host(key),
    }
}

fn canonical_host(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        other => other.to_string(),
    }
}

/// The `auths` entry that applies: the most specific key matching
/// `registry/repository` (containers allow keys with a namespace).
fn from_auths(
    file: &AuthFile,
    registry: &str,
    repository: &str,
    path: &Path,
) -> Result<Option<Found>, String> {
    let Some(auths) = &file.auths else {
        return Ok(None);
    };
    let full = format!("{registry}/{repository}");
    let best = auths
        .iter()
        .map(|(key, entry)| (canonical_key(key), key, entry))
        .filter(|(k, _, _)| k == registry || full == *k || full.starts_with(&format!("{k}/")))
        .max_by_key(|(k, _, _)| k.len());
    let Some((_, key, entry)) = best else {
        return Ok(None);
    };
    let what = format!("{} (entry {key:?})", path.display());
    let (user, password) = if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| format!("{what}: \"auth\" is not base64"))?;
        let decoded =
            String::from_utf8(decoded).map_err(|_| format!("{what}: \"auth\" is not UTF-8"))?;
        let Some((u, p)) = decoded.split_once(':') else {
            return Err(format!("{what}: \"auth\" is not USER:PASSWORD"));
        };
        (u.to_string(), p.to_string())
    } else if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        (u.clone(), p.clone())
    } else {
        // An empty entry (Docker writes these when a credsStore holds the secret).
        return Ok(None);
    };
    Ok(Some(Found {
        origin: format!("user {user:?} from {what}"),
        auth: RegistryAuth::Basic(user, password),
    }))
}

#[derive(Deserialize)]
struct HelperOutput {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-NAME get` with the server URL on stdin.
fn from_helper(name: &str, registry: &str, path: &Path) -> Result<Found, String> {
    if name.is_empty() || name.contains('/') || name.contains('\0') {
        return Err(format!(
            "{}: invalid credential helper name {name:?}",
            path.display()
        ));
    }
    let program = format!("docker-credential-{name}");
    let server = if registry == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{} names {program}, which cannot run: {e}", path.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits early closes its stdin; its status says why.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout);
        if said.contains("credentials not found") {
            return Ok(Found {
                auth: RegistryAuth::Anonymous,
                origin: format!("anonymous access ({program} has no credentials for {registry})"),
            });
        }
        return Err(format!("{program} get failed with {}", out.status));
    }
    let parsed: HelperOutput = serde_json::from_slice(&out.stdout)
        .map_err(|_| format!("{program} get printed something other than credentials JSON"))?;
    if parsed.username == "<token>" {
        return Err(format!(
            "{program} returned an identity token for {registry}; identity tokens are not \
             supported, use --username and --password-stdin"
        ));
    }
    Ok(Found {
        origin: format!(
            "user {:?} from {program} (named in {})",
            parsed.username,
            path.display()
        ),
        auth: RegistryAuth::Basic(parsed.username, parsed.secret),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn basic(found: &Found) -> (String, String) {
        match &found.auth {
            RegistryAuth::Basic(u, p) => (u.clone(), p.clone()),
            other => panic!("expected basic auth, got {other:?}"),
        }
    }

    #[test]
    fn keys_are_canonical() {
        assert_eq!(canonical_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(canonical_key("http://localhost:5000"), "localhost:5000");
        assert_eq!(canonical_key("quay.io/team"), "quay.io/team");
        assert_eq!(canonical_key("registry-1.docker.io"), "docker.io");
    }

    #[test]
    fn docker_config_auths() {
        let dir = tempfile::tempdir().unwrap();
        // base64("alice:s3cret:with:colons") computed by hand with `base64`.
        let f = write(
            dir.path(),
            "config.json",
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YWxpY2U6czNjcmV0OndpdGg6Y29sb25z"},
                         "localhost:5000":{"username":"bob","password":"pw"}}}"#,
        );
        let creds = Credentials {
            explicit: None,
            auth_files: vec![dir.path().join("absent.json"), f],
        };
        let found = creds.lookup("docker.io", "library/alpine").unwrap();
        assert_eq!(
            basic(&found),
            ("alice".to_string(), "s3cret:with:colons".to_string())
        );
        assert!(!found.origin.contains("s3cret"), "{}", found.origin);
        let found = creds.lookup("localhost:5000", "app").unwrap();
        assert_eq!(basic(&found), ("bob".to_string(), "pw".to_string()));
        let found = creds.lookup("quay.io", "x/y").unwrap();
        assert!(matches!(found.auth, RegistryAuth::Anonymous));
    }

    #[test]
    fn most_specific_namespace_wins_and_first_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        // "a:1", "b:2", "c:3" in base64.
        let first = write(
            dir.path(),
            "auth.json",
            r#"{"auths":{"reg.example":{"auth":"YTox"},"reg.example/team":{"auth":"Yjoy"}}}"#,
        );
        let second = write(
            dir.path(),
            "config.json",
            r#"{"auths":{"other.example":{"auth":"Yzoz"},"reg.example":{"auth":"Yzoz"}}}"#,
        );
        let creds = Credentials {
            explicit: None,
            auth_files: vec![first, second],
        };
        let user = |r: &str, repo: &str| basic(&creds.lookup(r, repo).unwrap()).0;
        assert_eq!(user("reg.example", "team/app"), "b");
        assert_eq!(user("reg.example", "teamx/app"), "a");
        assert_eq!(user("other.example", "x"), "c");
    }

    #[test]
    fn explicit_credentials_win_and_are_redacted() {
        let creds = Credentials {
            explicit: Some(("me".into(), "hunter2".into())),
            auth_files: vec![],
        };
        let found = creds.lookup("x.example", "r").unwrap();
        assert_eq!(basic(&found).1, "hunter2");
        assert!(!format!("{creds:?}").contains("hunter2"));
    }

    #[test]
    fn broken_file_errors_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "config.json",
            r#"{"auths": {"x": {"auth": "sekrit"#,
        );
        let creds = Credentials {
            explicit: None,
            auth_files: vec![f],
        };
        let err = creds.lookup("x", "r").err().unwrap();
        assert!(err.contains("not a valid auth file"), "{err}");
        assert!(!err.contains("sekrit"), "{err}");
    }

    #[test]
    fn missing_helper_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "config.json",
            r#"{"credHelpers":{"reg.example":"elfgate-test-absent"}}"#,
        );
        let creds = Credentials {
            explicit: None,
            auth_files: vec![f],
        };
        let err = creds.lookup("reg.example", "r").err().unwrap();
        assert!(
            err.contains("docker-credential-elfgate-test-absent"),
            "{err}"
        );
    }
}
