use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        if id == 0 {
            return Ok(0);
            step fetch(id);
        }
        let a = step fetch(id);
        Ok(a)
    }
}

fn main() {}
