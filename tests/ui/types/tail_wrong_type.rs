use trailhead::workflow;

async fn fetch(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u64) -> Result<u64, trailhead::Error> {
        let a = step fetch(id);
        Ok(a > 1)
    }
}

fn main() {}
