//! Time travel: a recorded run's journal stepped through event by event,
//! its picture after each, what each step produced, where it failed.

use trailhead::picture::{EventKind, NodeState, RunPicture, Timeline};
use trailhead::{Engine, Error, RunId, workflow};

async fn quote(n: u32) -> Result<u32, Error> {
    Ok(n * 100)
}
async fn seat(i: u32) -> Result<u32, Error> {
    Ok(i)
}
async fn pay(cents: u32) -> Result<String, Error> {
    Err(Error::msg(format!("card declined for {cents}")))
}
async fn refund(cents: u32) -> Result<(), Error> {
    let _ = cents;
    Ok(())
}

workflow! {
    /// A quote, three seats at once, a payment that fails and is undone.
    workflow trip(n: u32) -> Result<String, Error> {
        let cents = step quote(n).compensate(refund);
        let seats = parallel for i in 0..3 {
            step seat(i)
        };
        let paid = step pay(cents + seats.len() as u32);
        Ok(paid)
    }
}

fn state(picture: &RunPicture, site: &str) -> String {
    let node = picture
        .nodes
        .iter()
        .find(|n| {
            n.site.as_deref() == Some(site) && n.kind != trailhead::picture::NodeKind::Compensation
        })
        .unwrap();
    node.state.name().to_owned()
}

#[tokio::test]
async fn a_failed_run_steps_forward_and_back_through_its_events() {
    let engine = Engine::new();
    let run = RunId::new("trip-1");
    let handle = engine.start_with_id(run.clone(), trip, 2).await.unwrap();
    handle.result().await.unwrap_err();
    let record = engine.run_record(&run).await.unwrap().unwrap();
    let journal = engine.journal(&run).await.unwrap();
    let timeline = Timeline::of(&record, &journal).unwrap();
    let events = timeline.events();
    // Six entries (quote, 3 seats, pay, undo:quote), a start and an end each.
    assert_eq!(events.len(), 12);
    assert_eq!(events.len(), journal.len() * 2);
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "in time order"
    );
    assert_eq!(
        (events[0].key.as_str(), events[0].kind),
        ("quote", EventKind::Started)
    );
    let quoted = events
        .iter()
        .find(|e| e.key == "quote" && e.kind == EventKind::Completed)
        .unwrap();
    assert_eq!(quoted.value.as_deref(), Some("200"));

    // Where the failure came from.
    let failure = timeline.failure().unwrap();
    assert_eq!(failure.key, "pay");
    assert_eq!(failure.value.as_deref(), Some("card declined for 203"));

    // Forward: the picture after the quote ended, before any seat.
    let picture = timeline.picture_at(quoted.index);
    assert_eq!(state(&picture, "quote"), "completed");
    assert_eq!(state(&picture, "pay"), "not_reached");
    assert_eq!(picture.status, trailhead::store::RunStatus::Running);
    // Just after pay began: running; just after it ended: failed.
    let pay_start = events
        .iter()
        .find(|e| e.key == "pay" && e.kind == EventKind::Started)
        .unwrap();
    assert_eq!(
        timeline
            .picture_at(pay_start.index)
            .nodes
            .iter()
            .find(|n| n.site.as_deref() == Some("pay"))
            .unwrap()
            .state,
        NodeState::Running { attempt: 1 }
    );
    assert_eq!(state(&timeline.picture_at(failure.index), "pay"), "failed");
    // And back again: the first event shows the quote running, nothing else.
    let first = timeline.picture_at(0);
    assert_eq!(state(&first, "quote"), "running");
    assert_eq!(state(&first, "seat"), "not_reached");
    // The last event is the run as recorded: the quote compensated.
    let last = timeline.picture_at(events.len() - 1);
    assert_eq!(state(&last, "quote"), "compensated");
    assert_eq!(last.status, record.status());
    assert_eq!(
        timeline.picture_at(usize::MAX),
        last,
        "past the end is the end"
    );
    // Between: each seat counted as it ended.
    let seats_done: Vec<u32> = (0..events.len())
        .map(|i| {
            let picture = timeline.picture_at(i);
            let fan_out = picture
                .nodes
                .iter()
                .find(|n| n.kind == trailhead::picture::NodeKind::FanOut)
                .unwrap();
            fan_out.counts.done
        })
        .collect();
    assert!(
        seats_done.windows(2).all(|w| w[0] <= w[1]),
        "{seats_done:?}"
    );
    assert_eq!(*seats_done.last().unwrap(), 3);
}
