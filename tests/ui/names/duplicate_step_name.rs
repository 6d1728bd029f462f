use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let a = step fetch(id).name("load");
        let b = step fetch(id + 1).name("load");
        Ok(a + b)
    }
}

fn main() {}
