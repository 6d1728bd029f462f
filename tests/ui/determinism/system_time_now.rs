use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u64, trailhead::Error> {
        let now = std::time::SystemTime::now();
        let a = step fetch(id);
        Ok(now.elapsed().unwrap().as_secs() + u64::from(a))
    }
}

fn main() {}
