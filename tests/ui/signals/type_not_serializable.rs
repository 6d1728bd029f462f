use trailhead::workflow;

struct Approval {
    by: String,
}

workflow! {
    workflow review(doc: String) -> Result<String, trailhead::Error> {
        let approval: Approval = signal "approval";
        let _ = doc;
        Ok(approval.by)
    }
}

fn main() {}
