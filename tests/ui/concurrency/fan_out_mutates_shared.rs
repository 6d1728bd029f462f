use trailhead::workflow;

async fn wait(ms: u64) -> Result<u64, std::io::Error> {
    Ok(ms)
}

workflow! {
    workflow w(items: Vec<u64>) -> Result<u64, trailhead::Error> {
        let mut total = 0;
        parallel(limit = 4) for item in items {
            total += step wait(item);
        };
        Ok(total)
    }
}

fn main() {}
