use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let a = step fetch(id).retry(0);
        let b = step fetch(id).timeout(3days);
        let c = step fetch(id).name("x").name("y");
        Ok(a + b + c)
    }
}

fn main() {}
