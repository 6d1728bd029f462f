use trailhead::{Engine, workflow};

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow broken(id: u32) -> Result<u32, trailhead::Error> {
        let x = step fetch(id).retry(0);
        Ok(x)
    }
}

// The workflow above has an error, yet its struct and typed function still exist:
// this code compiles, and the one error reported is the workflow's own.
async fn use_it(engine: &Engine) -> u32 {
    let _ = broken::MERMAID;
    broken::run(engine, 1).await.unwrap()
}

fn main() {
    let _ = use_it;
}
