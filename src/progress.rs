//! The progress display: one line per platform on stderr, with layers done,
//! bytes pulled (the blobs as stored or sent) and bytes decoded (the files in
//! them). Hidden unless the command layer asks for it (stderr a terminal,
//! no `--quiet`); a hidden display costs an atomic add per chunk.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of a run; cheap to clone.
#[derive(Clone, Default)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("visible", &self.multi.is_some())
            .finish()
    }
}

impl Progress {
    /// Draws nothing.
    pub fn hidden() -> Progress {
        Progress { multi: None }
    }

    /// The display of a run: on stderr when it is a terminal and the user
    /// did not ask for quiet; otherwise nothing.
    pub fn for_stderr(quiet: bool, stderr_is_terminal: bool) -> Progress {
        if !quiet && stderr_is_terminal {
            Progress::stderr()
        } else {
            Progress::hidden()
        }
    }

    /// Draws on stderr.
    pub fn stderr() -> Progress {
        Progress {
            multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    pub fn is_visible(&self) -> bool {
        self.multi.is_some()
    }

    /// A line for one platform of an image that has `layers` layers to read.
    pub fn platform(&self, image: &str, platform: &str, layers: u64) -> PlatformProgress {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(layers));
            let style = ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:20}] {pos}/{len} layers {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(format!("{image} {platform}"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        PlatformProgress {
            inner: Arc::new(Inner {
                bar,
                pulled: AtomicU64::new(0),
                decoded: AtomicU64::new(0),
            }),
        }
    }
}

struct Inner {
    bar: Option<ProgressBar>,
    pulled: AtomicU64,
    decoded: AtomicU64,
}

/// The progress of one platform; cheap to clone and share between threads.
#[derive(Clone)]
pub struct PlatformProgress {
    inner: Arc<Inner>,
}

impl PlatformProgress {
    fn redraw(&self) {
        if let Some(bar) = &self.inner.bar {
            bar.set_message(format!(
                "{} pulled, {} decoded",
                HumanBytes(self.inner.pulled.load(Ordering::Relaxed)),
                HumanBytes(self.inner.decoded.load(Ordering::Relaxed))
            ));
        }
    }

    /// `n` more bytes of blob were read.
    pub fn pulled(&self, n: u64) {
        self.inner.pulled.fetch_add(n, Ordering::Relaxed);
        self.redraw();
    }

    /// A layer is done; its files hold `decoded` bytes.
    pub fn layer_done(&self, decoded: u64) {
        self.inner.decoded.fetch_add(decoded, Ordering::Relaxed);
        if let Some(bar) = &self.inner.bar {
            bar.inc(1);
        }
        self.redraw();
    }

    /// Bytes pulled so far.
    pub fn pulled_bytes(&self) -> u64 {
        self.inner.pulled.load(Ordering::Relaxed)
    }

    /// Removes the line.
    pub fn finish(&self) {
        if let Some(bar) = &self.inner.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_only_on_a_terminal_without_quiet() {
        assert!(Progress::for_stderr(false, true).is_visible());
        assert!(!Progress::for_stderr(false, false).is_visible());
        assert!(!Progress::for_stderr(true, true).is_visible());
        assert!(!Progress::for_stderr(true, false).is_visible());
    }

    #[test]
    fn a_hidden_display_still_counts() {
        let line = Progress::hidden().platform("img", "linux/arm64", 2);
        line.pulled(10);
        line.pulled(5);
        line.layer_done(100);
        assert_eq!(line.pulled_bytes(), 15);
        line.finish();
    }
}
