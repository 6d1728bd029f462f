use trailhead::workflow;

workflow! {
    workflow review(doc: String) -> Result<u64, trailhead::Error> {
        let first: u64 = signal "approval";
        let second: String = signal "approval";
        let _ = (doc, second);
        Ok(first)
    }
}

fn main() {}
