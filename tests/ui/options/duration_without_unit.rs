use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let x = step fetch(id).retry(3, backoff = 100..10s);
        Ok(x)
    }
}

fn main() {}
