use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let x = step fetch(id).retyr(3);
        let y = step fetch(id).frobnicate();
        Ok(x + y)
    }
}

fn main() {}
