//! The test kit (feature `testing`): an engine on tokio's paused clock,
//! steps stubbed by key or by function, signals sent at virtual times, and
//! assertions on the journal, with each run's diagram saved when a test
//! fails.
//!
//! ```
//! use std::time::Duration;
//! use trailhead_core::testing::{Stub, TestEngine};
//! use trailhead_core::{Error, workflow};
//!
//! async fn charge(cents: u64) -> Result<String, Error> {
//!     unreachable!("a test never calls the payment provider")
//! }
//!
//! workflow! {
//!     workflow renew(cents: u64) -> Result<String, Error> {
//!         sleep 168h;
//!         let approved: bool = signal "approved";
//!         let payment = step charge(cents).retry(3, backoff = 1m);
//!         Ok(if approved { payment } else { "refused".to_owned() })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let kit = TestEngine::new();
//! let charge = kit.stub(
//!     "charge",
//!     Stub::sequence([Stub::fails_transiently("the provider is down"), Stub::returns("pay-1")]),
//! );
//! let handle = kit.start(renew, 1_250).await.unwrap();
//! kit.signal_after(handle.id(), "approved", true, Duration::from_secs(8 * 24 * 3600));
//! assert_eq!(handle.result().await.unwrap(), "pay-1");
//! assert_eq!(charge.count(), 2, "one failure, one retry");
//! assert!(kit.elapsed() >= Duration::from_secs(8 * 24 * 3600), "eight virtual days");
//! # }
//! ```

mod stub;

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use futures::FutureExt;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{Engine, EngineBuilder, EngineError, RunId, StepPattern};

pub(crate) use stub::{ActiveStub, Stubs};
pub use stub::{Stub, StubCall, StubCalls};

/// An engine for tests: on tokio's paused clock, so that sleeps, backoffs
/// and timeouts take no wall time (a week-long sleep ends as soon as
/// nothing else can run), with steps stubbed by key or function.
///
/// It derefs to its [`Engine`]: start runs, send signals and read journals
/// as in production. Every run keeps its live picture, and when the test
/// panics (a failed assertion) while the engine is alive, each run's
/// diagram is written to a file and its path printed: see [`Drop`](#impl-Drop-for-TestEngine).
///
/// Make it inside a current-thread runtime (`#[tokio::test]`, paused
/// already with `#[tokio::test(start_paused = true)]` or paused here).
pub struct TestEngine {
    engine: Engine,
    stubs: std::sync::Arc<Stubs>,
    made: Instant,
}

impl TestEngine {
    /// A test engine on a fresh in-memory store.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or in a multi-threaded one whose clock is
    /// not paused (tokio pauses only a current-thread runtime's clock).
    pub fn new() -> Self {
        Self::with(Engine::builder())
    }

    /// A test engine made by `builder` (its resources, breakers, policies
    /// and store), with live pictures and this kit's stubs.
    ///
    /// # Panics
    ///
    /// As [`TestEngine::new`].
    pub fn with(builder: EngineBuilder) -> Self {
        pause_clock();
        let stubs = std::sync::Arc::new(Stubs::default());
        let engine = builder
            .live_pictures(true)
            .stubs(std::sync::Arc::clone(&stubs))
            .build();
        Self {
            engine,
            stubs,
            made: Instant::now(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Stands `stub` in for every attempt of the steps `pattern` matches
    /// (a [`StepPattern`]: `charge`, `reserve[1]`, `reserve[*]`, `*`);
    /// a later stub wins over an earlier one. Gives the stub's call count.
    ///
    /// A run that reaches the step while its journal has the step's entry
    /// (a resumed run) replays the entry, as always: the stub is not called.
    ///
    /// # Panics
    ///
    /// If `pattern` is not a step pattern.
    pub fn stub(&self, pattern: &str, stub: Stub) -> StubCalls {
        let pattern: StepPattern = pattern.parse().unwrap_or_else(|error| panic!("{error}"));
        self.stubs.add_key(pattern, stub)
    }

    /// Stands `stub` in for every step that calls the function at `path`
    /// as the workflow writes it (`charge_card`, `payments::charge`, a
    /// method as `.fetch`), whatever the steps are named. Gives the stub's
    /// call count.
    pub fn stub_function(&self, path: &str, stub: Stub) -> StubCalls {
        self.stubs.add_function(path, stub)
    }

    /// The virtual time since the engine was made.
    pub fn elapsed(&self) -> Duration {
        self.made.elapsed()
    }

    /// Moves the paused clock on by `by`, firing every timer due meanwhile.
    pub async fn advance(&self, by: Duration) {
        tokio::time::advance(by).await;
    }

    /// Sends signal `name` with `value` to run `run` once `after` of virtual
    /// time has passed; the task gives the send's result.
    pub fn signal_after<T: Serialize + Send + 'static>(
        &self,
        run: &RunId,
        name: &str,
        value: T,
        after: Duration,
    ) -> JoinHandle<Result<(), EngineError>> {
        let (engine, run, name) = (self.engine.clone(), run.clone(), name.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            engine.signal(&run, &name, value).await
        })
    }

    /// The keys of run `run`'s journal, in the order they were written
    /// (`undo:` keys for compensations).
    ///
    /// # Panics
    ///
    /// If the store cannot read the journal.
    pub async fn steps(&self, run: &RunId) -> Vec<String> {
        let journal = self
            .engine
            .journal(run)
            .await
            .unwrap_or_else(|error| panic!("the journal of run {run}: {error}"));
        journal.iter().map(|entry| entry.key.to_string()).collect()
    }

    /// Asserts that run `run`'s journal has exactly the keys `expected`, in
    /// that order: what [`assert_steps!`](crate::assert_steps) calls.
    /// Steps that run at once may be journaled in either order: compare
    /// [`TestEngine::steps`] sorted for those.
    ///
    /// # Panics
    ///
    /// If it does not (the run's diagram is then saved, as on any panic).
    pub async fn assert_steps(&self, run: &RunId, expected: &[&str]) {
        let steps = self.steps(run).await;
        assert!(
            steps == expected,
            "run {run} journaled\n  {steps:?}\nnot\n  {expected:?}"
        );
    }
}

impl Default for TestEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for TestEngine {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl std::fmt::Debug for TestEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEngine")
            .field("elapsed", &self.elapsed())
            .finish_non_exhaustive()
    }
}

/// When the test panics (an assertion failed), writes each run's diagram,
/// with its nodes' states, to `{run}.mmd` in the folder
/// `TRAILHEAD_TEST_DIAGRAMS` names (else `trailhead-test-diagrams` in the
/// system's temporary folder), readable by its owner only, and prints the
/// paths. Only stores that answer at once are read here (the in-memory
/// store, the default): a drop cannot wait.
impl Drop for TestEngine {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let Some(Ok(runs)) = self.engine.store().list_runs(None).now_or_never() else {
            return;
        };
        let dir = std::env::var_os("TRAILHEAD_TEST_DIAGRAMS").map_or_else(
            || std::env::temp_dir().join("trailhead-test-diagrams"),
            PathBuf::from,
        );
        for record in runs {
            let Some(Ok(diagram)) = self.engine.diagram_of(&record.id).now_or_never() else {
                continue;
            };
            let name: String = record
                .id
                .as_str()
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = dir.join(format!("{name}.mmd"));
            match write_private(&dir, &path, &diagram) {
                Ok(()) => eprintln!(
                    "trailhead: the diagram of run {} is in {}",
                    record.id,
                    path.display()
                ),
                Err(error) => eprintln!(
                    "trailhead: cannot save the diagram of run {}: {error}",
                    record.id
                ),
            }
        }
    }
}

/// Writes `text` to `path` in `dir`, both readable by their owner only.
fn write_private(dir: &std::path::Path, path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        builder.mode(0o700);
        options.mode(0o600);
    }
    builder.create(dir)?;
    options.open(path)?.write_all(text.as_bytes())
}

/// Pauses the current runtime's clock unless it is paused already.
fn pause_clock() {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        panic!("a TestEngine is made inside a tokio runtime: use #[tokio::test]");
    };
    // A paused clock does not move between two readings with no await.
    let before = Instant::now();
    std::thread::sleep(Duration::from_millis(1));
    if Instant::now() == before {
        return;
    }
    assert!(
        runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread,
        "a TestEngine pauses the clock of a current-thread runtime: use #[tokio::test], not a multi-threaded one"
    );
    tokio::time::pause();
}

/// Asserts that a run's journal has exactly these keys, in this order:
/// `assert_steps!(kit, &run, ["reserve[0]", "reserve[1]", "charge"])`
/// (in an async test; it awaits [`TestEngine::assert_steps`]).
#[macro_export]
macro_rules! assert_steps {
    ($kit:expr, $run:expr, [$($key:expr),* $(,)?]) => {
        $kit.assert_steps($run, &[$($key),*]).await
    };
}
