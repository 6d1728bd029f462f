use trailhead::workflow;

async fn wait(ms: u64) -> Result<u64, std::io::Error> {
    Ok(ms)
}

workflow! {
    workflow w(items: Vec<u64>) -> Result<Vec<u64>, trailhead::Error> {
        let out = parallel(limit = 0) for item in items {
            step wait(item)
        };
        Ok(out)
    }
}

fn main() {}
