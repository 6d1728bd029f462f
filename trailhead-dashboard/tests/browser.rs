//! The dashboard in a real browser: headless Chromium (Debian's `chromium`,
//! which `.ci/run` installs) loads a run's page while the run progresses,
//! and the diagram shows the right node states and updates without a
//! reload; a finished run's diagram travels back through its journal; a
//! run paused by the debugger is stepped and continued from its page, the
//! paused panel following without a reload. The test saves screenshots of the run page and the run list;
//! with `TRAILHEAD_UPDATE_SCREENSHOTS=1` it writes them to
//! `docs/screenshots/`, where the README takes them from.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use tokio::sync::Semaphore;
use trailhead::debug::Breakpoint;
use trailhead::{Engine, Error, RunId, workflow};
use trailhead_dashboard::{Actions, Dashboard};

static BOARDING: Semaphore = Semaphore::const_new(0);

async fn check_in(passengers: u32) -> Result<u32, Error> {
    Ok(passengers)
}

async fn assign_seat(i: u32) -> Result<u32, Error> {
    if i >= 8 {
        BOARDING.acquire().await.map_err(Error::msg)?.forget();
    }
    Ok(i)
}

async fn print_passes(seats: u32) -> Result<String, Error> {
    Ok(format!("{seats} passes"))
}

workflow! {
    /// Checks in, seats every passenger at once (the last four wait to be
    /// let through), prints the passes.
    pub workflow board(n: u32) -> Result<String, Error> {
        let passengers = step check_in(n);
        let seats = parallel(limit = 12) for i in 0..passengers {
            step assign_seat(i)
        };
        let passes = step print_passes(seats.iter().sum());
        Ok(passes)
    }
}

/// The browser, found as `headless_chrome` finds one (`$CHROME`, then
/// `chromium`, `google-chrome`, … on the `PATH`).
fn browser() -> Browser {
    let path = headless_chrome::browser::default_executable().unwrap_or_else(|why| {
        panic!(
            "the dashboard's browser test needs Chromium: {why}. Install Debian's `chromium` \
             (`apt-get install chromium`, as .ci/run does) or set CHROME to a Chrome binary"
        )
    });
    let options = LaunchOptions::default_builder()
        .path(Some(path))
        // The CI runs as root, where Chromium's sandbox cannot start.
        .sandbox(false)
        .window_size(Some((1280, 1400)))
        .idle_browser_timeout(Duration::from_secs(120))
        .build()
        .expect("launch options");
    Browser::new(options).expect("Chromium starts")
}

/// Evaluates `script` (an expression giving a string) in the page.
fn eval(tab: &Tab, script: &str) -> String {
    let value = tab
        .evaluate(script, false)
        .unwrap_or_else(|error| panic!("`{script}` runs: {error}"))
        .value;
    match value {
        Some(serde_json::Value::String(text)) => text,
        other => panic!("`{script}` gave {other:?}, not a string"),
    }
}

/// Waits until `script` gives `want`, or panics with what it gave last.
fn wait_for(tab: &Tab, script: &str, want: &str) {
    let mut last = String::new();
    for _ in 0..300 {
        last = eval(tab, script);
        if last == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("`{script}` gave `{last}`, never `{want}`");
}

/// The state the diagram shows for the node whose label starts with `label`.
fn state_of(label: &str) -> String {
    format!(
        "(() => {{ const nodes = [...document.querySelectorAll('#diagram [data-node]')]; \
         const texts = [...document.querySelectorAll('#diagram text')]; \
         const i = texts.findIndex(t => t.textContent.trim().startsWith('{label}')); \
         return i < 0 ? 'no node {label}' : nodes[i].dataset.state; }})()"
    )
}

fn save(name: &str, png: &[u8]) {
    let dir = if std::env::var_os("TRAILHEAD_UPDATE_SCREENSHOTS").is_some() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    };
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    std::fs::write(dir.join(name), png).expect("the screenshot is saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_page_follows_its_run_live_without_reloading() {
    let engine = Engine::builder().live_pictures(true).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let dashboard = Dashboard::new(engine.clone()).refresh_every(Duration::from_millis(50));
    tokio::spawn(dashboard.serve(listener));
    // The same store with actions allowed, for the fork button.
    let acting = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let acting_address = acting.local_addr().unwrap();
    tokio::spawn(
        Dashboard::new(engine.clone())
            .actions(Actions::Allowed)
            .serve(acting),
    );

    // A finished run first, for the list; then the one the page follows.
    engine
        .start_with_id(RunId::new("board-early"), board, 0)
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    let handle = engine
        .start_with_id(RunId::new("board-7"), board, 12)
        .await
        .unwrap();
    let run = handle.id().clone();
    // Until the eight seats that need not wait are journaled.
    while engine.journal(&run).await.unwrap().len() < 9 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let url = format!("http://{address}/runs/{run}");
    let (browser, tab) = tokio::task::spawn_blocking(move || {
        let browser = browser();
        let tab = browser.new_tab().unwrap();
        tab.set_default_timeout(Duration::from_secs(20));
        tab.navigate_to(&url).unwrap().wait_until_navigated().unwrap();
        wait_for(&tab, "document.querySelector('#diagram [data-node]') ? 'drawn' : 'not yet'", "drawn");
        // A mark only this page load has: a reload would lose it.
        eval(&tab, "(window.__loadedOnce = 'yes')");
        assert_eq!(eval(&tab, &state_of("check_in")), "completed");
        assert_eq!(eval(&tab, &state_of("assign_seat")), "running");
        assert_eq!(eval(&tab, &state_of("print_passes")), "not_reached");
        wait_for(
            &tab,
            "(() => [...document.querySelectorAll('#diagram text')].map(t => t.textContent).join('|'))().includes('×12: 8 done, 4 running, 0 failed') ? 'counted' : 'not yet'",
            "counted",
        );
        save("dashboard-run-live.png", &screenshot(&tab));
        (browser, tab)
    })
    .await
    .unwrap();

    // Let the last four through: the page must follow without a reload.
    BOARDING.add_permits(4);
    assert_eq!(handle.result().await.unwrap(), "66 passes");
    let list = format!("http://{address}/");
    let early = format!("http://{acting_address}/runs/board-early");
    tokio::task::spawn_blocking(move || {
        wait_for(&tab, "document.getElementById('run').dataset.ended", "true");
        assert_eq!(eval(&tab, &state_of("assign_seat")), "completed");
        assert_eq!(eval(&tab, &state_of("print_passes")), "completed");
        assert_eq!(eval(&tab, "window.__loadedOnce || 'reloaded'"), "yes");
        let updates: u32 = eval(&tab, "document.getElementById('run').dataset.updates || '0'")
            .parse()
            .unwrap();
        assert!(updates >= 2, "the page took {updates} live updates");
        assert!(eval(&tab, "document.querySelector('#run-header .status').textContent") == "completed");
        assert!(
            eval(&tab, "String(document.querySelectorAll('#journal tr.entry').length)") == "14",
            "every journal entry is listed"
        );
        save("dashboard-run.png", &screenshot(&tab));

        tab.navigate_to(&list).unwrap().wait_until_navigated().unwrap();
        wait_for(&tab, "document.querySelector('table.runs') ? 'listed' : 'not yet'", "listed");
        let listed = eval(&tab, "[...document.querySelectorAll('table.runs tbody tr td:first-child')].map(td => td.textContent).join(',')");
        assert_eq!(listed, "board-7,board-early", "newest first");
        save("dashboard-runs.png", &screenshot(&tab));

        // A finished run's journal row forks it without a reload: the
        // reply's new run shows as a link to its page.
        tab.navigate_to(&early).unwrap().wait_until_navigated().unwrap();
        wait_for(&tab, "document.querySelector('button.fork[data-from=\"print_passes\"]') ? 'offered' : 'not yet'", "offered");
        eval(&tab, "(window.confirm = () => true, document.querySelector('button.fork[data-from=\"print_passes\"]').click(), 'clicked')");
        wait_for(&tab, "(document.querySelector('.fork-result a') || {}).textContent || 'not yet'", "board-early~fork-1");
        assert_eq!(
            eval(&tab, "document.querySelector('.fork-result a').getAttribute('href')"),
            "/runs/board-early~fork-1"
        );

        // Time travel: ◀ redraws the diagram a journal event back, without
        // a reload; ▶ comes back to the end.
        assert_eq!(eval(&tab, &state_of("print_passes")), "completed");
        eval(&tab, "(window.__before = 'yes', document.getElementById('travel-back').click(), 'clicked')");
        wait_for(&tab, &state_of("print_passes"), "running");
        assert_eq!(eval(&tab, "document.getElementById('travel-event').textContent"), "event 3 of 4: print_passes — started");
        eval(&tab, "(document.getElementById('travel-back').click(), 'clicked')");
        wait_for(&tab, &state_of("print_passes"), "not_reached");
        assert_eq!(eval(&tab, &state_of("check_in")), "completed");
        assert_eq!(eval(&tab, "document.getElementById('travel-at').value"), "1");
        eval(&tab, "(document.getElementById('travel-forward').click(), document.getElementById('travel-forward').click(), 'clicked')");
        wait_for(&tab, &state_of("print_passes"), "completed");
        assert_eq!(eval(&tab, "window.__before || 'reloaded'"), "yes");
        drop(browser);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_run_is_stepped_and_continued_from_its_page() {
    let engine = Engine::builder().debugger(true).build();
    let debugger = engine.debugger().unwrap().clone();
    let run = RunId::new("board-debugged");
    debugger.break_at(Breakpoint::before("check_in".parse().unwrap()).in_run(run.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let dashboard = Dashboard::new(engine.clone())
        .actions(Actions::Allowed)
        .refresh_every(Duration::from_millis(50));
    tokio::spawn(dashboard.serve(listener));
    // No seats: check_in, then print_passes.
    let handle = engine.start_with_id(run.clone(), board, 0).await.unwrap();
    debugger.wait_for_pause(Some(&run)).await;

    let url = format!("http://{address}/runs/{run}");
    tokio::task::spawn_blocking(move || {
        let browser = browser();
        let tab = browser.new_tab().unwrap();
        tab.set_default_timeout(Duration::from_secs(20));
        tab.navigate_to(&url).unwrap().wait_until_navigated().unwrap();
        let paused_key = "(document.querySelector('#paused .pause') || { dataset: { key: 'none' } }).dataset.key";
        wait_for(&tab, paused_key, "check_in");
        eval(&tab, "(window.__loadedOnce = 'yes')");
        assert_eq!(eval(&tab, "document.querySelector('#diagram .node.paused').dataset.node"), eval(&tab, "document.querySelectorAll('#diagram [data-node]')[1].dataset.node"));
        // A breakpoint for this run from the page's form: after print_passes.
        eval(&tab, "(() => { const form = document.getElementById('breakpoint'); \
             form.elements.steps.value = 'print_passes'; form.elements.when.value = 'after'; \
             form.requestSubmit(); return 'sent'; })()");
        wait_for(&tab, "document.getElementById('action-result').textContent.replace(/^Breakpoint \\d+ /, '')", "added: this run stops at `print_passes` after it completes.");
        // Step: the panel moves on to the next step without a reload.
        eval(&tab, "(document.querySelector('button[data-resume=\"step\"]').click(), 'clicked')");
        wait_for(&tab, paused_key, "print_passes");
        assert_eq!(eval(&tab, &state_of("check_in")), "completed");
        // An argument that is an expression shows as written.
        assert_eq!(eval(&tab, "document.querySelector('#paused ol.arguments').textContent"), "`seats.iter().sum()`");
        // Continue: to the form's breakpoint, the step's output shown.
        eval(&tab, "(document.querySelector('button[data-resume=\"continue\"]').click(), 'clicked')");
        wait_for(&tab, "(document.querySelector('#paused .pause') || { dataset: {} }).dataset.when || 'none'", "after");
        assert_eq!(eval(&tab, "document.querySelector('#paused pre.output').textContent"), "\"0 passes\"");
        // Continue: the panel goes, the run ends.
        eval(&tab, "(document.querySelector('button[data-resume=\"continue\"]').click(), 'clicked')");
        wait_for(&tab, paused_key, "none");
        wait_for(&tab, "document.getElementById('run').dataset.ended", "true");
        assert_eq!(eval(&tab, "document.querySelectorAll('#diagram .node.paused').length + ''"), "0");
        assert_eq!(eval(&tab, "window.__loadedOnce || 'reloaded'"), "yes");
        drop(browser);
    })
    .await
    .unwrap();
    assert_eq!(handle.result().await.unwrap(), "0 passes");
}

fn screenshot(tab: &Arc<Tab>) -> Vec<u8> {
    tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("a screenshot")
}
