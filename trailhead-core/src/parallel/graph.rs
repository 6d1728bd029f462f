//! Driving a block's statements along their dependency graph.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

/// Set when a statement of a parallel block has finished; the statements that
/// depend on it wait for it.
#[derive(Debug, Default)]
pub struct Done {
    done: AtomicBool,
    waiters: Mutex<Vec<Waker>>,
}

impl Done {
    /// A signal not set yet.
    pub const fn new() -> Self {
        Done {
            done: AtomicBool::new(false),
            waiters: Mutex::new(Vec::new()),
        }
    }

    /// Marks the statement finished and wakes whoever waits for it.
    pub fn set(&self) {
        self.done.store(true, Ordering::Release);
        let waiters = std::mem::take(
            &mut *self
                .waiters
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Waits until the statement has finished.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only stops waiting.
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.done.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            let mut waiters = self
                .waiters
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if self.done.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
    }
}

/// One statement of a parallel block, pinned where the block lives.
pub type Node<'a, E> = Pin<&'a mut (dyn Future<Output = Result<(), E>> + Send + 'a)>;

/// Runs the statements of a block together until all are done, or until one
/// fails: then the others are dropped (cancelling their steps) and its error
/// is returned.
///
/// Each statement waits for its own inputs (see [`Done`]), so it starts the
/// moment its last input is ready, not level by level.
///
/// # Errors
///
/// The first error a statement returns.
///
/// # Cancel safety
///
/// Dropping the future stops every statement still running.
pub async fn run_graph<E>(nodes: &mut [Node<'_, E>]) -> Result<(), E> {
    let mut pending: Vec<usize> = (0..nodes.len()).collect();
    std::future::poll_fn(|cx: &mut Context<'_>| {
        let mut index = 0;
        while index < pending.len() {
            match nodes[pending[index]].as_mut().poll(cx) {
                Poll::Ready(Ok(())) => {
                    pending.swap_remove(index);
                }
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => index += 1,
            }
        }
        if pending.is_empty() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await
}
