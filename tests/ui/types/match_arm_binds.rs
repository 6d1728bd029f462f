use trailhead::workflow;

const LIMIT: u64 = 10;

async fn fetch(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u64) -> Result<u64, trailhead::Error> {
        let a = step fetch(id);
        let b = match a {
            LIMTI => step fetch(LIMIT),
            _ => 0,
        };
        Ok(b)
    }
}

fn main() {}
