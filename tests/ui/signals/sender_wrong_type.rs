use trailhead::{Engine, RunId, workflow};

workflow! {
    workflow review(doc: String) -> Result<u64, trailhead::Error> {
        let approved_by: u64 = signal "approval";
        let _ = doc;
        Ok(approved_by)
    }
}

async fn approve(engine: &Engine, run: &RunId) {
    review::signal_approval(engine, run, "yes").await.unwrap();
}

fn main() {
    let _ = approve;
}
