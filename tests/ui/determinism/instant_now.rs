use std::time::Instant;
use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let started = Instant::now();
        let a = step fetch(id);
        let _ = started;
        Ok(a)
    }
}

fn main() {}
