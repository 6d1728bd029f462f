use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> u32 {
        let x = step fetch(id);
        x
    }
}

fn main() {}
