use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    wokflow w(id: u32) -> Result<u32, trailhead::Error> {
        Ok(id)
    }
}

fn main() {}
