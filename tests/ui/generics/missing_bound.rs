use trailhead::{Data, workflow};

trait Item: Data {
    async fn process(&self) -> Result<u32, trailhead::Error>;
}

workflow! {
    // `T: Item` is missing, so `T` has no `process`: said at the method.
    workflow each<T: Data>(items: Vec<T>) -> Result<Vec<u32>, trailhead::Error> {
        let done = parallel for item in &items {
            step item.process()
        };
        Ok(done)
    }
}

fn main() {}
