use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let x = step fetch(id).retry(3).timeout(1s).retry(5);
        Ok(x)
    }
}

fn main() {}
