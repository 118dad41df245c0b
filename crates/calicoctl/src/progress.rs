//! Progress of long commands: a bar on stderr while many resources are processed, drawn only
//! when stderr is a terminal (so scripts and pipes see exactly calicoctl's output), and cleared
//! when done.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Fewer resources than this finish too fast for a bar to help.
const MIN_ITEMS: usize = 100;

/// A progress bar, or nothing.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar saying `verb` (e.g. "applying") over `total` resources, when worth showing.
    pub fn new(verb: &str, total: usize) -> Progress {
        if total < MIN_ITEMS || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} resources ({eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(verb.to_string());
        bar.tick();
        Progress(Some(bar))
    }

    /// A counter of objects with no known total (a spinner, the count and the rate), drawn
    /// only when stderr is a terminal.
    pub fn counter(verb: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {msg} {pos} objects ({per_sec}, {elapsed})")
        {
            bar.set_style(style);
        }
        bar.set_message(verb.to_string());
        bar.tick();
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Progress(Some(bar))
    }

    /// `n` more objects done.
    pub fn inc_by(&self, n: usize) {
        if let Some(bar) = &self.0 {
            bar.inc(n as u64);
        }
    }

    /// One more resource done.
    pub fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// The steps of a long library operation (`datastore migrate import`, its verification), each
/// shown as a bar (a known total) or a counter while it runs.
#[derive(Default)]
pub struct Steps(std::sync::Mutex<Option<Progress>>);

impl Steps {
    fn with(&self, f: impl FnOnce(&mut Option<Progress>)) {
        // A poisoned lock only means another thread panicked while drawing: draw nothing more.
        if let Ok(mut current) = self.0.lock() {
            f(&mut current);
        }
    }
}

impl calico_migrate::import::Observer for Steps {
    fn begin(&self, what: &str, total: Option<usize>) {
        self.with(|current| {
            // The step before is cleared first.
            *current = None;
            *current = Some(match total {
                Some(total) => Progress::new(what, total),
                None => Progress::counter(what),
            });
        });
    }

    fn advance(&self, n: usize) {
        self.with(|current| {
            if let Some(progress) = current {
                progress.inc_by(n);
            }
        });
    }

    fn end(&self) {
        self.with(|current| *current = None);
    }
}
