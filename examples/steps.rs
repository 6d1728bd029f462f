//! Steps: `let`-bound or run for their effect, async or `blocking` on a worker
//! thread, functions or methods, with plain Rust in between.
//!
//! `cargo run --example steps`

use trailhead::{Engine, workflow};

async fn download(url: &str) -> Result<String, std::io::Error> {
    Ok(format!("<html>{url}</html>"))
}

/// CPU-bound work: `step blocking` runs it on tokio's blocking pool, so the async
/// workers stay free. Its arguments are owned (`Clone + Send + 'static`).
fn word_count(page: String) -> Result<usize, std::io::Error> {
    Ok(page
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .count())
}

struct Archive {
    bucket: &'static str,
}

impl Archive {
    async fn store(&self, key: &str, page: &str) -> Result<String, std::io::Error> {
        Ok(format!("{}/{key} ({} bytes)", self.bucket, page.len()))
    }
}

workflow! {
    /// Downloads a page, counts its words and archives it.
    workflow archive_page(url: String) -> Result<(usize, String), trailhead::Error> {
        let page = step download(&url);
        let words = step blocking word_count(page.clone());
        let archive = Archive { bucket: "pages" };
        let key = url.replace('/', "_");
        let location = step archive.store(&key, &page);
        Ok((words, location))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new();
    let (words, location) = archive_page::run(&engine, "example.com/a".to_owned()).await?;
    println!("{words} words, archived at {location}");
    Ok(())
}
