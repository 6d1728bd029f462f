use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow child(id: u32) -> Result<u32, trailhead::Error> {
        let x = step fetch(id);
        Ok(x)
    }

    workflow parent(id: u32) -> Result<u32, trailhead::Error> {
        let x = call child(id).retry(3);
        Ok(x)
    }
}

fn main() {}
