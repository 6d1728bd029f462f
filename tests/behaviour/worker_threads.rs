//! CPU-bound steps (`step blocking`) run on worker threads, so two of them that
//! do not depend on each other run at the same time on two cores, and the async
//! workers stay free.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use trailhead::{Engine, workflow};

/// Each side announces itself, then waits for the other to announce: only
/// possible when both run at the same time. The timeout turns "never
/// overlapped" into a failure instead of a hang.
struct Rendezvous {
    left: Mutex<Option<(Sender<()>, Receiver<()>)>>,
    right: Mutex<Option<(Sender<()>, Receiver<()>)>>,
}

static MEET: std::sync::OnceLock<Rendezvous> = std::sync::OnceLock::new();

fn rendezvous() -> &'static Rendezvous {
    MEET.get_or_init(|| {
        let (to_right, from_left) = channel();
        let (to_left, from_right) = channel();
        Rendezvous {
            left: Mutex::new(Some((to_right, from_right))),
            right: Mutex::new(Some((to_left, from_left))),
        }
    })
}

/// Burns CPU, meeting the other side in the middle.
fn crunch(side: String) -> Result<(u64, String), std::io::Error> {
    let slot = if side == "left" {
        &rendezvous().left
    } else {
        &rendezvous().right
    };
    let (tell, hear) = slot.lock().unwrap().take().expect("each side runs once");
    let mut acc: u64 = 0;
    for i in 0..2_000_000_u64 {
        acc = acc.wrapping_mul(31).wrapping_add(i);
    }
    tell.send(()).expect("the other side listens");
    hear.recv_timeout(Duration::from_secs(20))
        .map_err(|_| std::io::Error::other(format!("{side} never met the other side")))?;
    let thread = std::thread::current().name().unwrap_or("").to_owned();
    Ok((acc, thread))
}

workflow! {
    workflow two_crunches() -> Result<(String, String), trailhead::Error> {
        let (_, left) = step blocking crunch("left".to_owned());
        let (_, right) = step blocking crunch("right".to_owned()).name("right");
        Ok((left, right))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cpu_bound_steps_overlap_on_worker_threads() {
    let engine = Engine::new();
    let (left, right) = two_crunches::run(&engine).await.unwrap();
    // Neither ran on an async worker.
    assert!(!left.starts_with("tokio-runtime-worker"), "{left}");
    assert!(!right.starts_with("tokio-runtime-worker"), "{right}");
}
