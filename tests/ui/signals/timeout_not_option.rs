use trailhead::workflow;

workflow! {
    workflow review(doc: String) -> Result<bool, trailhead::Error> {
        let approved: bool = signal "approval".timeout(1h);
        let _ = doc;
        Ok(approved)
    }
}

fn main() {}
