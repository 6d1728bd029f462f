use trailhead::workflow;

workflow! {
    workflow review(doc: String) -> Result<bool, trailhead::Error> {
        let approved = signal "approval";
        let _ = doc;
        Ok(approved)
    }
}

fn main() {}
