use trailhead::workflow;

workflow! {
    // `T` is the run's output, but nothing says it can be journaled.
    workflow first_of<T: Clone + Send + Sync + 'static>(values: Vec<u32>) -> Result<Option<T>, trailhead::Error> {
        let _ = values;
        Ok(None)
    }
}

fn main() {}
