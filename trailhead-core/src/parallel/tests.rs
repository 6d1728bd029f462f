use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{Done, Slot, fan_out, run_graph};

#[tokio::test(start_paused = true)]
async fn fan_out_keeps_input_order_and_respects_its_limit() {
    let running = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let items: Vec<u64> = (0..20).collect();
    let (running, most) = (&running, &most);
    let out = fan_out(3, items, |index, item| async move {
        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(now, Ordering::SeqCst);
        // Later items finish sooner, so completion order is not input order.
        tokio::time::sleep(Duration::from_millis(100 - item)).await;
        running.fetch_sub(1, Ordering::SeqCst);
        Ok::<_, ()>((index, item * 2))
    })
    .await
    .unwrap();
    let expected: Vec<(u32, u64)> = (0..20_u32).map(|i| (i, u64::from(i) * 2)).collect();
    assert_eq!(out, expected);
    assert_eq!(most.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn fan_out_stops_at_the_first_error_and_drops_the_rest() {
    let finished = AtomicUsize::new(0);
    let finished = &finished;
    let result = fan_out(4, 0..100_u64, |_, item| async move {
        tokio::time::sleep(Duration::from_millis(10 * (item % 4 + 1))).await;
        if item == 5 {
            return Err(format!("item {item} failed"));
        }
        finished.fetch_add(1, Ordering::SeqCst);
        Ok(item)
    })
    .await;
    assert_eq!(result.unwrap_err(), "item 5 failed");
    assert!(finished.load(Ordering::SeqCst) < 10, "the rest did not run");
}

#[tokio::test(start_paused = true)]
async fn a_graph_starts_each_node_when_its_inputs_are_ready() {
    let a_done = Done::new();
    let a = Slot::new();
    let started = tokio::time::Instant::now();
    {
        let mut first = std::pin::pin!(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            a.set(1_u32);
            a_done.set();
            Ok::<(), String>(())
        });
        let mut independent = std::pin::pin!(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<(), String>(())
        });
        let mut dependent = std::pin::pin!(async {
            a_done.wait().await;
            assert_eq!(*a.get(), 1);
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<(), String>(())
        });
        let mut nodes: [super::graph::Node<'_, String>; 3] =
            [first.as_mut(), independent.as_mut(), dependent.as_mut()];
        run_graph(&mut nodes).await.unwrap();
    }
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    assert_eq!(a.into_inner(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failing_node_fails_the_graph_at_once() {
    let started = tokio::time::Instant::now();
    let mut slow = std::pin::pin!(async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<(), &str>(())
    });
    let mut failing = std::pin::pin!(async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Err("boom")
    });
    let mut nodes: [super::graph::Node<'_, &str>; 2] = [slow.as_mut(), failing.as_mut()];
    assert_eq!(run_graph(&mut nodes).await, Err("boom"));
    assert_eq!(started.elapsed(), Duration::from_millis(10));
}

#[test]
fn a_handed_over_value_is_taken_once() {
    let slot = Slot::new();
    slot.hand_over(String::from("x"));
    assert_eq!(slot.take(), "x");
}

#[tokio::test(start_paused = true)]
async fn items_are_pulled_only_when_a_place_is_free() {
    let pulled = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let most_ahead = AtomicUsize::new(0);
    let items = (0..1_000_u64).inspect(|_| {
        let ahead = pulled.fetch_add(1, Ordering::SeqCst) + 1 - finished.load(Ordering::SeqCst);
        most_ahead.fetch_max(ahead, Ordering::SeqCst);
    });
    let finished_ref = &finished;
    let out = fan_out(5, items, |_, item| async move {
        tokio::time::sleep(Duration::from_millis(1 + item % 7)).await;
        finished_ref.fetch_add(1, Ordering::SeqCst);
        Ok::<_, ()>(item)
    })
    .await
    .unwrap();
    assert_eq!(out.len(), 1_000);
    // Never more items taken from the iterator than places in flight.
    assert_eq!(most_ahead.load(Ordering::SeqCst), 5);
}
