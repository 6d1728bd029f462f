use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

fn helper(id: u32) -> u32 {
    id
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let x = call helper(id);
        Ok(x)
    }
}

fn main() {}
