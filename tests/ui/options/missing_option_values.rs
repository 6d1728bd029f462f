use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let a = step fetch(id).retry();
        let b = step fetch(id).timeout();
        let c = step fetch(id).name(charge);
        Ok(a + b + c)
    }
}

fn main() {}
