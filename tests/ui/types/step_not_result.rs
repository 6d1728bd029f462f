use trailhead::workflow;

async fn count(n: u32) -> u32 {
    n + 1
}

workflow! {
    workflow w(n: u32) -> Result<u32, trailhead::Error> {
        let x = step count(n);
        Ok(x)
    }
}

fn main() {}
