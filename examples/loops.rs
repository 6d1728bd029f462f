//! Loops: `for`, `while` and `loop`, with `break` and `continue`. Each iteration adds
//! its index to the keys of the steps it runs: `resize[0]`, `resize[1]`, …
//!
//! `cargo run --example loops`

use trailhead::{Engine, workflow};

async fn resize(image: &str) -> Result<u64, std::io::Error> {
    Ok(image.len() as u64 * 1_000)
}

async fn poll_status(job: u32, attempt: u32) -> Result<bool, std::io::Error> {
    Ok(attempt + job >= 3)
}

workflow! {
    /// Resizes every image (skipping the ones already small), then waits for a job.
    workflow process(images: Vec<String>, job: u32) -> Result<(u64, u32), trailhead::Error> {
        let mut bytes = 0;
        for image in &images {
            if image.starts_with("thumb_") {
                continue;
            }
            bytes += step resize(image);
        }
        let mut polls = 0;
        loop {
            polls += 1;
            let done = step poll_status(job, polls);
            if done {
                break;
            }
        }
        Ok((bytes, polls))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new();
    let images = vec![
        "cat.png".to_owned(),
        "thumb_cat.png".to_owned(),
        "dog.jpeg".to_owned(),
    ];
    let handle = engine.start(process, (images, 1)).await?;
    let run = handle.id().clone();
    let (bytes, polls) = handle.result().await?;
    println!("resized {bytes} bytes, job done after {polls} polls");
    println!("journal of run {run}:");
    for record in engine.journal(&run).await? {
        println!("  {} -> {:?}", record.key, record.outcome);
    }
    Ok(())
}
